"""Traces: every read and write of a record, with who, what, when and which document; readable by the holder."""
