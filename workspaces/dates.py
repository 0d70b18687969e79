"""Days as people pick them in filters: the days that make sense, and a range of days as times.

Days are calendar days in the display time zone (``TIME_ZONE``).
"""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

# Days outside these are typing mistakes (and would overflow date arithmetic).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Aware datetimes [start of ``start``, start of the day after ``end``) in the display time zone."""
    tz = timezone.get_default_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )
