"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from models.tables.config import ConfigVersion
from models.tables.directory import Account, User
from models.tables.notifications import NotificationRow
from models.tables.ops import OpsAuditRow
from models.tables.signals import SignalOwnerRow, SignalRow

__all__ = ["Account", "ConfigVersion", "NotificationRow", "OpsAuditRow", "SignalOwnerRow", "SignalRow", "User"]
