"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from models.tables.cadence import ActionItemRow, AgendaRow, FlywheelProposalRow
from models.tables.channels import DeliveryRow, UserChannelsRow
from models.tables.config import ConfigVersion
from models.tables.detection import DetectedSignalRow
from models.tables.directory import Account, AccountMember, AdminCredential, User
from models.tables.events import AccountScoreRow, EventRow
from models.tables.generations import CacheGeneration
from models.tables.handoffs import HandoffAuditRow, HandoffRow
from models.tables.notifications import NotificationRow
from models.tables.ops import ExecutionFailureRow, OpsAuditRow, WorkflowRunRow
from models.tables.plays import PlayRunOpenStepRow, PlayRunOwnerRow, PlayRunRow
from models.tables.proposals import AgentSettingsRow, ProposalRow
from models.tables.signals import SignalEscalationRow, SignalOwnerRow, SignalRow, SignalToAcknowledgeRow
from models.tables.tasks import TaskRow
from models.tables.territory import TerritoryProposalRow
from models.tables.timelines import TimelineRow
from models.tables.web_sessions import WebSessionRow

__all__ = ["ActionItemRow", "DeliveryRow", "UserChannelsRow", "AdminCredential", "DetectedSignalRow", "CacheGeneration", "AgendaRow", "FlywheelProposalRow", "Account", "AccountMember", "AccountScoreRow", "EventRow", "HandoffAuditRow", "HandoffRow", "ConfigVersion", "NotificationRow", "ExecutionFailureRow", "OpsAuditRow", "SignalEscalationRow", "SignalOwnerRow", "SignalRow", "SignalToAcknowledgeRow", "TerritoryProposalRow", "User",
           "PlayRunOpenStepRow", "PlayRunOwnerRow", "PlayRunRow", "TaskRow", "TimelineRow", "WebSessionRow", "WorkflowRunRow", "AgentSettingsRow", "ProposalRow"]
