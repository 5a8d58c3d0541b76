"""djq-orm: the Django ORM broker, djq's embedded default."""
