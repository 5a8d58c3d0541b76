from django.apps import AppConfig


class DjqOrmConfig(AppConfig):
    name = "djq_orm"
    label = "djq_orm"
    verbose_name = "djq queue"
    default_auto_field = "django.db.models.BigAutoField"
