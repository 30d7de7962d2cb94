"""CloudWatch alarms, all sent (on ALARM and back to OK) to one SNS topic for operations.

- Api5xxRate: more than 1 % of API requests answer 5xx, 3 periods of 5 minutes in a row. Look at the API
  handler's errors, DynamoDB/KMS throttling, or a bad deploy (roll back).
- <Function>Errors: a function reports errors (2 minutes out of 5). Its log group, by requestId.
- <Function>Throttles: Lambda throttled a function (reserved concurrency reached): raise it, or look for abuse.
- UploadEventsDepth: more than QUEUE_DEPTH_ALARM messages wait for 15 minutes: the consumer fails or is throttled.
- UploadEventsAge: the oldest message is older than 15 minutes: uploads are not being verified.
- UploadEventsDlqDepth: any message in the dead-letter queue: a poison upload event; inspect, fix, redrive.
- UploadEventsDlqAge: a dead letter is older than 3 days; it must be handled before the 14-day retention drops it.
- InvisiblePatientDailyDlqDepth / DlqAge: the daily job's event failed its 3 attempts (same handling).
- AgendaShards{Depth,Age,DlqDepth,DlqAge}: shard tasks of the daily reminder fan-out (age > 15 minutes).
- AgendaDeliveries{Depth,Age,DlqDepth,DlqAge}: reminder batches (depth > 10000 for 15 minutes, age > 1 hour:
  delivery is paced by its maximum concurrency and SES's sending rate).
- AgendaDailyDispatchDlqDepth / DlqAge: the 07:00 dispatch failed its 3 attempts.
- RejectedUploadsSpike: more than REJECTED_UPLOADS_ALARM uploads rejected by the verifier (any reason) in 5 minutes,
  twice in a row: a hospital system sending wrong sizes/checksums/types, or someone probing the verifier. The
  metric's `reason` dimension says which.
- AccessRefusalsSpike: more than ACCESS_REFUSALS_ALARM refused professional accesses in 5 minutes, twice in a row:
  enumeration of records, or a caller misconfigured (missing consent header). The `reason` dimension says which.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c

FIVE_MINUTES = cdk.Duration.minutes(5)


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey,
                 alarm_email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.stage = stage
        self.topic = sns.Topic(self, "Operations", topic_name=f"{c.PREFIX}-{stage}-operations",
                               display_name=f"Mon espace santé {stage} alarms", master_key=key, enforce_ssl=True)
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []

    def _alarm(self, construct_id: str, metric: cw.IMetric, threshold: float, description: str,
               evaluation_periods: int = 3, datapoints: int = 3) -> cw.Alarm:
        alarm = cw.Alarm(
            self, construct_id,
            alarm_name=f"{c.PREFIX}-{self.stage}-{construct_id}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def watch_api(self, api_name: str) -> None:
        dims = {"ApiName": api_name, "Stage": c.API_STAGE_NAME}
        errors = cw.Metric(namespace="AWS/ApiGateway", metric_name="5XXError", dimensions_map=dims,
                           statistic="Sum", period=FIVE_MINUTES)
        count = cw.Metric(namespace="AWS/ApiGateway", metric_name="Count", dimensions_map=dims,
                          statistic="Sum", period=FIVE_MINUTES)
        rate = cw.MathExpression(expression="IF(requests > 0, errors / requests, 0)",
                                 using_metrics={"errors": errors, "requests": count}, period=FIVE_MINUTES,
                                 label="5xx rate")
        self._alarm("Api5xxRate", rate, c.API_5XX_RATE_THRESHOLD,
                    "More than 1% of API requests answered 5xx for 15 minutes.")

    def watch_business_events(self) -> None:
        """Spikes of the business events the app counts (functions/shared/observability.py). An alarm cannot SEARCH
        across dimension values, so it sums one metric per reason (closed sets, in infra/constants.py)."""
        for construct_id, metric, reasons, threshold, what in (
                ("RejectedUploadsSpike", c.DOCUMENTS_REJECTED_METRIC, c.REJECTION_REASONS, c.REJECTED_UPLOADS_ALARM,
                 "uploads rejected by the verifier"),
                ("AccessRefusalsSpike", c.ACCESS_REFUSED_METRIC, c.REFUSAL_REASONS, c.ACCESS_REFUSALS_ALARM,
                 "professional accesses refused")):
            by_reason = {f"r{i}": cw.Metric(namespace=c.METRICS_NAMESPACE, metric_name=metric, statistic="Sum",
                                            period=FIVE_MINUTES,
                                            dimensions_map={"service": c.SERVICE, "reason": reason})
                         for i, reason in enumerate(reasons)}
            total = cw.MathExpression(expression=f"SUM([{', '.join(by_reason)}])", using_metrics=by_reason,
                                      period=FIVE_MINUTES, label=what)
            self._alarm(construct_id, total, threshold,
                        f"More than {threshold} {what} in 5 minutes, twice in a row.", evaluation_periods=2,
                        datapoints=2)

    def watch_function(self, name: str, function_ref: str) -> None:
        dims = {"FunctionName": function_ref}
        self._alarm(f"{name}Errors", cw.Metric(namespace="AWS/Lambda", metric_name="Errors", dimensions_map=dims,
                                               statistic="Sum", period=cdk.Duration.minutes(1)), 0,
                    f"The {name} function reported errors.", evaluation_periods=5, datapoints=2)
        self._alarm(f"{name}Throttles", cw.Metric(namespace="AWS/Lambda", metric_name="Throttles",
                                                  dimensions_map=dims, statistic="Sum",
                                                  period=cdk.Duration.minutes(1)), 0,
                    f"Lambda throttled the {name} function (reserved concurrency reached).",
                    evaluation_periods=5, datapoints=2)

    def watch_dead_letters(self, name: str, dead_letters: sqs.IQueue) -> None:
        """A scheduled function's dead-letter queue: any message is a day's job that failed every attempt."""
        self._alarm(f"{name}DlqDepth", dead_letters.metric_approximate_number_of_messages_visible(
            period=cdk.Duration.minutes(1), statistic="Maximum"), 0,
            f"A {name} event failed every attempt and reached its dead-letter queue.", evaluation_periods=1,
            datapoints=1)
        self._alarm(f"{name}DlqAge", dead_letters.metric_approximate_age_of_oldest_message(
            period=FIVE_MINUTES, statistic="Maximum"), 3 * 24 * 3600,
            "A dead letter has waited more than 3 days (retention is 14 days).", evaluation_periods=1, datapoints=1)

    def watch_queue(self, name: str, queue: sqs.IQueue, dead_letters: sqs.IQueue, age_description: str, *,
                    depth: int = c.QUEUE_DEPTH_ALARM, age_seconds: int = c.QUEUE_AGE_ALARM_SECONDS) -> None:
        self._alarm(f"{name}Depth", queue.metric_approximate_number_of_messages_visible(
            period=FIVE_MINUTES, statistic="Maximum"), depth,
            f"More than {depth} messages waiting for 15 minutes.")
        self._alarm(f"{name}Age", queue.metric_approximate_age_of_oldest_message(
            period=FIVE_MINUTES, statistic="Maximum"), age_seconds, age_description)
        self._alarm(f"{name}DlqDepth", dead_letters.metric_approximate_number_of_messages_visible(
            period=cdk.Duration.minutes(1), statistic="Maximum"), 0,
            "A message reached the dead-letter queue.", evaluation_periods=1, datapoints=1)
        self._alarm(f"{name}DlqAge", dead_letters.metric_approximate_age_of_oldest_message(
            period=FIVE_MINUTES, statistic="Maximum"), 3 * 24 * 3600,
            "A dead letter has waited more than 3 days (retention is 14 days).", evaluation_periods=1, datapoints=1)
