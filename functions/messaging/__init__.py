"""Secure messaging (issue 11): the patient's MSSanté mailbox, conversations, messages, one draft per conversation."""
