"""Scheduled locks and unlocks: the `schedules` table run by APScheduler (see `scheduler`)."""

from bot.scheduling.scheduler import PendingRun, ScheduleInfo, Scheduler

__all__ = ["PendingRun", "ScheduleInfo", "Scheduler"]
