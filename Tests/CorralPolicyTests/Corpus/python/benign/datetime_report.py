from datetime import date, timedelta

start = date(2024, 1, 1)
for week in range(4):
    day = start + timedelta(weeks=week)
    print(day.isoformat(), day.strftime('%A'))
