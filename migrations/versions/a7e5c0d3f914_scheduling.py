"""scheduling: skills, regions, working patterns, exceptions, resources, service types, appointments

Revision ID: a7e5c0d3f914
Revises: c118245c3988
Create Date: 2026-12-03 06:50:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = 'a7e5c0d3f914'
down_revision = 'c118245c3988'
branch_labels = None
depends_on = None

TABLES = ("staff_skills", "staff_regions", "working_patterns", "schedule_exceptions", "resources", "service_types",
          "appointments")


def _base(name):
    return [sa.Column('tenant_id', sa.BigInteger(), nullable=False),
            sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False)]


def _tail(name, *, timestamps=False):
    cols = []
    if timestamps:
        cols += [sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                 sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False)]
    return cols + [
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=f'fk_{name}_tenant_id_tenants', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=f'pk_{name}'),
    ]


def _fk(table, column, target, ondelete=None):
    if ondelete == "SET NULL":
        ondelete = f"SET NULL ({column})"
    return sa.ForeignKeyConstraint(['tenant_id', column], [f'{target}.tenant_id', f'{target}.id'],
                                   name=f'fk_{table}_tenant_id_{column}_{target}', ondelete=ondelete)


def upgrade():
    # btree_gist: an EXCLUDE constraint over a scalar (tenant, staff) and a range needs both in one gist index
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    op.create_table('staff_skills', *_base('staff_skills'),
                    sa.Column('user_id', sa.BigInteger(), nullable=False),
                    sa.Column('skill', sa.String(length=60), nullable=False),
                    sa.Column('level', sa.SmallInteger(), nullable=False),
                    sa.CheckConstraint('level BETWEEN 1 AND 5', name='ck_staff_skills_level_range'),
                    _fk('staff_skills', 'user_id', 'users', 'CASCADE'),
                    sa.UniqueConstraint('tenant_id', 'user_id', 'skill', name='uq_staff_skills_tenant_id_user_id_skill'),
                    *_tail('staff_skills'))
    op.create_index('ix_staff_skills_tenant_skill', 'staff_skills', ['tenant_id', 'skill'])

    op.create_table('staff_regions', *_base('staff_regions'),
                    sa.Column('user_id', sa.BigInteger(), nullable=False),
                    sa.Column('region', sa.String(length=60), nullable=False),
                    _fk('staff_regions', 'user_id', 'users', 'CASCADE'),
                    sa.UniqueConstraint('tenant_id', 'user_id', 'region',
                                        name='uq_staff_regions_tenant_id_user_id_region'),
                    *_tail('staff_regions'))
    op.create_index('ix_staff_regions_tenant_region', 'staff_regions', ['tenant_id', 'region'])

    op.create_table('working_patterns', *_base('working_patterns'),
                    sa.Column('user_id', sa.BigInteger(), nullable=False),
                    sa.Column('store_id', sa.BigInteger(), nullable=False),
                    sa.Column('weekday', sa.SmallInteger(), nullable=False),
                    sa.Column('starts_at', sa.Time(), nullable=False),
                    sa.Column('ends_at', sa.Time(), nullable=False),
                    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name='ck_working_patterns_weekday_range'),
                    sa.CheckConstraint('ends_at > starts_at', name='ck_working_patterns_ends_after_start'),
                    _fk('working_patterns', 'user_id', 'users', 'CASCADE'),
                    _fk('working_patterns', 'store_id', 'stores', 'CASCADE'),
                    *_tail('working_patterns'))
    op.create_index('ix_working_patterns_tenant_store', 'working_patterns', ['tenant_id', 'store_id', 'weekday'])
    op.create_index('ix_working_patterns_tenant_user', 'working_patterns', ['tenant_id', 'user_id', 'weekday'])

    op.create_table('schedule_exceptions', *_base('schedule_exceptions'),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('user_id', sa.BigInteger(), nullable=True),
                    sa.Column('store_id', sa.BigInteger(), nullable=True),
                    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('note', sa.String(length=200), nullable=True),
                    sa.CheckConstraint('ends_at > starts_at', name='ck_schedule_exceptions_ends_after_start'),
                    sa.CheckConstraint("kind IN ('leave', 'extra_shift', 'closure')",
                                       name='ck_schedule_exceptions_known_kind'),
                    sa.CheckConstraint("(kind = 'closure') = (user_id IS NULL)",
                                       name='ck_schedule_exceptions_closure_has_no_user'),
                    sa.CheckConstraint("kind = 'leave' OR store_id IS NOT NULL",
                                       name='ck_schedule_exceptions_shift_and_closure_have_store'),
                    _fk('schedule_exceptions', 'user_id', 'users', 'CASCADE'),
                    _fk('schedule_exceptions', 'store_id', 'stores', 'CASCADE'),
                    *_tail('schedule_exceptions', timestamps=True))
    op.create_index('ix_schedule_exceptions_tenant_user', 'schedule_exceptions', ['tenant_id', 'user_id', 'starts_at'])
    op.create_index('ix_schedule_exceptions_tenant_store', 'schedule_exceptions',
                    ['tenant_id', 'store_id', 'starts_at'])

    op.create_table('resources', *_base('resources'),
                    sa.Column('store_id', sa.BigInteger(), nullable=False),
                    sa.Column('name', sa.String(length=80), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('capacity', sa.SmallInteger(), nullable=False),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.CheckConstraint('capacity BETWEEN 1 AND 50', name='ck_resources_capacity_range'),
                    _fk('resources', 'store_id', 'stores', 'CASCADE'),
                    sa.UniqueConstraint('tenant_id', 'store_id', 'name', name='uq_resources_tenant_id_store_id_name'),
                    *_tail('resources', timestamps=True))
    op.create_index('ix_resources_tenant_store_kind', 'resources', ['tenant_id', 'store_id', 'kind'])

    op.create_table('service_types', *_base('service_types'),
                    sa.Column('name', sa.String(length=120), nullable=False),
                    sa.Column('duration_minutes', sa.Integer(), nullable=False),
                    sa.Column('buffer_minutes', sa.Integer(), nullable=False),
                    sa.Column('required_skills', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    sa.Column('needs_staff', sa.Boolean(), nullable=False),
                    sa.Column('resource_kind', sa.String(length=20), nullable=True),
                    # TODO(catalog): foreign key (tenant_id, catalog_item_id) once the catalog tables are on main
                    sa.Column('catalog_item_id', sa.BigInteger(), nullable=True),
                    sa.Column('min_notice_minutes', sa.Integer(), nullable=False),
                    sa.Column('max_days_ahead', sa.Integer(), nullable=False),
                    sa.Column('public', sa.Boolean(), nullable=False),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.CheckConstraint('duration_minutes BETWEEN 5 AND 1440', name='ck_service_types_duration_range'),
                    sa.CheckConstraint('buffer_minutes BETWEEN 0 AND 480', name='ck_service_types_buffer_range'),
                    sa.UniqueConstraint('tenant_id', 'name', name='uq_service_types_tenant_id_name'),
                    *_tail('service_types', timestamps=True))

    op.create_table('appointments', *_base('appointments'),
                    sa.Column('store_id', sa.BigInteger(), nullable=False),
                    sa.Column('customer_id', sa.BigInteger(), nullable=False),
                    sa.Column('asset_id', sa.BigInteger(), nullable=True),
                    sa.Column('service_type_id', sa.BigInteger(), nullable=False),
                    sa.Column('staff_id', sa.BigInteger(), nullable=True),
                    sa.Column('resource_id', sa.BigInteger(), nullable=True),
                    sa.Column('resource_unit', sa.SmallInteger(), nullable=True),
                    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('during', postgresql.TSTZRANGE(),
                              sa.Computed("tstzrange(starts_at, blocked_until, '[)')", persisted=True)),
                    sa.Column('status', sa.String(length=20), nullable=False),
                    sa.Column('source', sa.String(length=20), nullable=False),
                    sa.Column('walk_in', sa.Boolean(), nullable=False),
                    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
                    sa.Column('answers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    sa.Column('notes', sa.Text(), nullable=True),
                    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
                    sa.CheckConstraint('ends_at > starts_at', name='ck_appointments_ends_after_start'),
                    sa.CheckConstraint('blocked_until >= ends_at', name='ck_appointments_buffer_after_end'),
                    sa.CheckConstraint('(resource_id IS NULL) = (resource_unit IS NULL)',
                                       name='ck_appointments_unit_with_resource'),
                    sa.CheckConstraint('resource_unit >= 0', name='ck_appointments_unit_not_negative'),
                    sa.CheckConstraint("status IN ('booked', 'confirmed', 'arrived', 'in_service', 'done', "
                                       "'no_show', 'cancelled')", name='ck_appointments_known_status'),
                    _fk('appointments', 'store_id', 'stores'),
                    _fk('appointments', 'customer_id', 'customers'),
                    _fk('appointments', 'asset_id', 'assets', 'SET NULL'),
                    _fk('appointments', 'service_type_id', 'service_types'),
                    _fk('appointments', 'staff_id', 'users', 'SET NULL'),
                    _fk('appointments', 'resource_id', 'resources', 'SET NULL'),
                    _fk('appointments', 'created_by_id', 'users', 'SET NULL'),
                    *_tail('appointments', timestamps=True))
    op.create_index('ix_appointments_tenant_store_start', 'appointments', ['tenant_id', 'store_id', 'starts_at'])
    op.create_index('ix_appointments_tenant_customer', 'appointments', ['tenant_id', 'customer_id', 'starts_at'])
    op.create_index('ix_appointments_tenant_staff_start', 'appointments', ['tenant_id', 'staff_id', 'starts_at'])
    # the database is the judge of double booking, whatever the application does (docs/scheduling.md)
    op.execute("ALTER TABLE appointments ADD CONSTRAINT appointments_staff_no_overlap EXCLUDE USING gist "
               "(tenant_id WITH =, staff_id WITH =, during WITH &&) WHERE (status NOT IN ('cancelled', 'no_show'))")
    op.execute("ALTER TABLE appointments ADD CONSTRAINT appointments_resource_no_overlap EXCLUDE USING gist "
               "(tenant_id WITH =, resource_id WITH =, resource_unit WITH =, during WITH &&) "
               "WHERE (status NOT IN ('cancelled', 'no_show'))")
    for table in TABLES:
        enable_rls(op, table)


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)
