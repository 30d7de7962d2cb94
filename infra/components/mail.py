"""SES in eu-west-3 for the reminder e-mails (functions/agenda/mailer.py: SendBulkTemplatedEmail, 50 a call).

- the sending identity: the From address itself (`agenda_email_source`; SES mails it a verification link when the
  stack creates it) or its domain (`agenda_email_identity`; Easy DKIM: publish the three CNAME records of the stack
  outputs `EmailDkim*`, SES then verifies the domain by itself);
- the template `mes-<stage>-reminder` (MES_AGENDA_EMAIL_TEMPLATE): subject and text as in local/resources.py. It
  carries only the kind of reminder and its day; what, where and with whom stay in the app.

A new account sends from the SES **sandbox** (verified recipients only, 200 a day): production access is a request
to AWS (console: SES > Account dashboard > Request production access), per account and region. See infra/README.md.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra import constants as c


def template_name(stage: str) -> str:
    return f"{c.PREFIX}-{stage}-{c.EMAIL_TEMPLATE}"


def identity_arn(identity: str) -> str:
    return f"arn:aws:ses:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:identity/{identity}"


def template_arn(stage: str) -> str:
    return f"arn:aws:ses:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:template/{template_name(stage)}"


def enrolment_template_arn(stage: str) -> str:
    return f"arn:aws:ses:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:template/{c.PREFIX}-{stage}-{c.ENROLMENT_EMAIL_TEMPLATE}"


class ReminderEmail(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, source: str, identity: str) -> None:
        super().__init__(scope, construct_id)
        is_domain = "@" not in identity
        self.identity = ses.EmailIdentity(
            self, "Identity", identity=ses.Identity.domain(identity) if is_domain else ses.Identity.email(identity))
        self.template = ses.CfnTemplate(self, "Template", template=ses.CfnTemplate.TemplateProperty(
            template_name=template_name(stage), subject_part=c.EMAIL_SUBJECT, text_part=c.EMAIL_BODY))
        self.source = source
        self.template_name = template_name(stage)
        # Provisional codes and opposition notices (functions/accounts/service.py), same sender.
        self.enrolment_template_name = f"{c.PREFIX}-{stage}-{c.ENROLMENT_EMAIL_TEMPLATE}"
        self.enrolment_template = ses.CfnTemplate(self, "EnrolmentTemplate", template=ses.CfnTemplate.TemplateProperty(
            template_name=self.enrolment_template_name, subject_part=c.ENROLMENT_EMAIL_SUBJECT,
            text_part=c.ENROLMENT_EMAIL_BODY))
        if is_domain:
            for n, (name, value) in enumerate((
                    (self.identity.dkim_dns_token_name1, self.identity.dkim_dns_token_value1),
                    (self.identity.dkim_dns_token_name2, self.identity.dkim_dns_token_value2),
                    (self.identity.dkim_dns_token_name3, self.identity.dkim_dns_token_value3)), start=1):
                cdk.CfnOutput(scope, f"EmailDkim{n}", value=cdk.Fn.join(" CNAME ", [name, value]),
                              description=f"DNS record {n}/3 to publish for the SES domain identity {identity}")


def information_template_name(stage: str) -> str:
    return f"{c.PREFIX}-{stage}-{c.INFORMATION_TEMPLATE}"


def information_template_arn(stage: str) -> str:
    return f"arn:aws:ses:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:template/{information_template_name(stage)}"


class InformationEmail(Construct):
    """The information e-mail of opening by default (`mes-<stage>-information`): the text of
    functions/accounts/intake.py (creation date, provisional code, how to object), sent from the same identity."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        from functions.accounts.intake import INFORMATION_SUBJECT, template_text

        super().__init__(scope, construct_id)
        self.template_name = information_template_name(stage)
        self.template = ses.CfnTemplate(self, "Template", template=ses.CfnTemplate.TemplateProperty(
            template_name=self.template_name, subject_part=INFORMATION_SUBJECT, text_part=template_text()))


def erasure_template_name(stage: str) -> str:
    return f"{c.PREFIX}-{stage}-{c.ERASURE_TEMPLATE}"


def erasure_template_arn(stage: str) -> str:
    return f"arn:aws:ses:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:template/{erasure_template_name(stage)}"


class ErasureEmail(Construct):
    """The erasure's "done" e-mail (`mes-<stage>-erasure-done`, MES_ERASURE_EMAIL_TEMPLATE): the day and the
    tombstone's reference (functions/accounts/erasure.py), sent from the reminders' identity."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        from functions.accounts.erasure import ERASURE_EMAIL_BODY, ERASURE_EMAIL_SUBJECT

        super().__init__(scope, construct_id)
        self.template_name = erasure_template_name(stage)
        self.template = ses.CfnTemplate(self, "Template", template=ses.CfnTemplate.TemplateProperty(
            template_name=self.template_name, subject_part=ERASURE_EMAIL_SUBJECT, text_part=ERASURE_EMAIL_BODY))
