"""Imports every core model, so metadata is complete for migrations and the schema-rules test (the control plane's
models are imported by its plugin module, which the app loads before anything maps)."""
from .access.models import Role  # noqa: F401
from .audit.models import AuditEntry  # noqa: F401
from .auth.models import ApiToken, UserSession  # noqa: F401
from .customers.models import Customer, CustomerIdentity, CustomerMerge, SavedView  # noqa: F401
from .stores.models import Store  # noqa: F401
from .tenancy.models import Tenant  # noqa: F401
from .users.models import User, UserStore  # noqa: F401
from .web.idempotency import IdempotencyKey  # noqa: F401
from .plugin_host.models import TenantPlugin  # noqa: F401
from .activities.models import Interaction, Task  # noqa: F401
from .assets.models import Asset, AssetOwnership, AssetReading  # noqa: F401
from .sales.models import Payment, QuoteRevision, SalesDocument, SalesLine  # noqa: F401
from .imports.models import ImportRowError, ImportRun, SavedMapping  # noqa: F401
from .fields.models import FieldDefinition  # noqa: F401
from .files.models import StoredFile  # noqa: F401
from .notifications.models import (Notification, NotificationTemplate, OutboxMessage,  # noqa: F401
                                   WebhookEndpoint)
from .workflow.models import WorkflowDefinition, WorkflowItem, WorkflowStep  # noqa: F401
from .rules.models import Rule, RuleFiring  # noqa: F401
from .timers import Timer  # noqa: F401
from .catalog.models import Brand, CatalogItem, Category, PackageLine, StorePrice  # noqa: F401
from .stock.models import (Location, Reservation, Serial, StockCount, StockCountLine, StockLevel,  # noqa: F401
                           StockMovement, Transfer, TransferLine)
from .scheduling.models import (Appointment, Resource, ScheduleException, ServiceType, StaffRegion,  # noqa: F401
                                StaffSkill, WorkingPattern)
from .reports.models import Dashboard, KpiTarget, KpiThreshold, ReportDigest, SavedReport  # noqa: F401
from .surveys.models import Survey, SurveyAnswer, SurveyInvitation, SurveyResponse  # noqa: F401
from .leads.models import (Lead, LeadAssignmentRule, LeadCampaign, LeadChannel, LeadDelivery,  # noqa: F401
                           LeadHistory)
