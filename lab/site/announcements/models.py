"""Announcements shown on the website (the lab's stand-in for the main website's models)."""

from django.db import models


class Announcement(models.Model):
    SEVERITIES = [("info", "Information"), ("maintenance", "Maintenance"), ("outage", "Outage")]

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # Added by 0002: the new cluster's code.
    severity = models.CharField(max_length=20, choices=SEVERITIES, default="info")

    def __str__(self) -> str:
        return self.title
