"""What officers see: enrollment, tips and their buttons, replies, their cases."""
