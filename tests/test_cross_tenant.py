"""The cross-tenant matrix: every route in the URL map, tried by tenant A against tenant B.

A route missing from the tables below fails `test_every_route_is_in_the_matrix`, so a new
route cannot ship without saying how it keeps tenants apart.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from storecrm.testing.isolation import tenant_tables

B_MARKERS = ("BETA", "@beta.test", "beta owner")

# endpoint -> (method, path params built from B's world, form/json body)
ID_ROUTES = {
    "stores.edit": [("GET", lambda b: {"store_id": b.stores[0]}, None),
                    ("POST", lambda b: {"store_id": b.stores[0]}, {"code": "HACK", "name": "HACKED"})],
    "users.edit": [("GET", lambda b: {"user_id": b.users["advisor"]}, None),
                   ("POST", lambda b: {"user_id": b.users["advisor"]}, {"display_name": "HACKED", "role_id": "1"})],
    "access.edit_role": [("GET", lambda b: {"role_id": b.roles["advisor"]}, None),
                         ("POST", lambda b: {"role_id": b.roles["advisor"]}, {"name": "HACKED"})],
    "customers.show": [("GET", lambda b: {"customer_id": b.customers[0]}, None)],
    "customers.edit": [("GET", lambda b: {"customer_id": b.customers[0]}, None),
                       ("POST", lambda b: {"customer_id": b.customers[0]}, {"name": "HACKED"})],
    "auth.revoke_token": [("POST", lambda b: {"token_id": b.token_id}, {})],
    "api_stores.get_store": [("GET", lambda b: {"store_id": b.stores[0]}, None)],
    "api_stores.update_store": [("PATCH", lambda b: {"store_id": b.stores[0]}, {"name": "HACKED"})],
    "api_users.get_user": [("GET", lambda b: {"user_id": b.users["advisor"]}, None)],
    "api_customers.get_customer": [("GET", lambda b: {"customer_id": b.customers[0]}, None)],
    "api_customers.update_customer": [("PATCH", lambda b: {"customer_id": b.customers[0]}, {"name": "HACKED"})],
    "api_tokens.revoke_token": [("DELETE", lambda b: {"token_id": b.token_id}, None)],
    "customers.add_identity": [("POST", lambda b: {"customer_id": b.customers[0]}, {"kind": "plate", "value": "沪A99999"})],
    "customers.remove_identity": [("POST", lambda b: {"customer_id": b.customers[0], "identity_id": b.identity_id}, {})],
    "customers.merge": [("GET", lambda b: {"customer_id": b.customers[0]}, None),
                        ("POST", lambda b: {"customer_id": b.customers[0]}, {"other_id": "1"})],
    "customers.unmerge": [("POST", lambda b: {"merge_id": b.merge_id}, {})],
    "erasure.page": [("GET", lambda b: {"customer_id": b.customers[0]}, None),
                          ("POST", lambda b: {"customer_id": b.customers[0]},
                           {"reason": "customer_request", "confirm_name": "BETA-customer-0"})],
    "api_customers.list_identities": [("GET", lambda b: {"customer_id": b.customers[0]}, None)],
    "api_customers.add_identity": [("POST", lambda b: {"customer_id": b.customers[0]},
                                    {"kind": "plate", "value": "沪A99999"})],
    "api_customers.remove_identity": [("DELETE", lambda b: {"customer_id": b.customers[0],
                                                            "identity_id": b.identity_id}, None)],
    "api_customers.merge_customer": [("POST", lambda b: {"customer_id": b.customers[0]},
                                      {"other_id": 1})],
    "api_customers.undo_merge": [("POST", lambda b: {"merge_id": b.merge_id}, None)],
    "api_customers.erase_customer": [("POST", lambda b: {"customer_id": b.customers[0]},
                                      {"reason": "customer_request", "confirm_name": "BETA-customer-0"})],
    "activities.log_interaction": [("POST", lambda b: {"customer_id": b.customers[0]}, {"kind": "note", "body": "HACKED"})],
    "activities.add_task": [("POST", lambda b: {"customer_id": b.customers[0]}, {"title": "HACKED"})],
    "activities.set_status": [("POST", lambda b: {"task_id": b.task_id}, {"status": "done"})],
    "api_activities.list_interactions": [("GET", lambda b: {"customer_id": b.customers[0]}, None)],
    "api_activities.log_interaction": [("POST", lambda b: {"customer_id": b.customers[0]},
                                        {"kind": "note", "body": "HACKED"})],
    "api_activities.customer_timeline": [("GET", lambda b: {"customer_id": b.customers[0]}, None)],
    "api_activities.customer_overview": [("GET", lambda b: {"customer_id": b.customers[0]}, None)],
    "api_activities.get_task": [("GET", lambda b: {"task_id": b.task_id}, None)],
    "api_activities.update_task": [("PATCH", lambda b: {"task_id": b.task_id}, {"status": "done"})],
    "assets.new": [("GET", lambda b: {"customer_id": b.customers[0]}, None),
                   ("POST", lambda b: {"customer_id": b.customers[0]}, {"type": "device", "name": "HACKED", "save": "1"})],
    "assets.edit": [("GET", lambda b: {"asset_id": b.asset_id}, None),
                    ("POST", lambda b: {"asset_id": b.asset_id}, {"type": "device", "name": "HACKED", "save": "1"})],
    "assets.show": [("GET", lambda b: {"asset_id": b.asset_id}, None)],
    "assets.transfer": [("POST", lambda b: {"asset_id": b.asset_id}, {"customer_id": "1"})],
    "api_assets.get_asset": [("GET", lambda b: {"asset_id": b.asset_id}, None)],
    "api_assets.update_asset": [("PATCH", lambda b: {"asset_id": b.asset_id}, {"name": "HACKED"})],
    "api_assets.transfer_asset": [("POST", lambda b: {"asset_id": b.asset_id}, {"customer_id": 1})],
    "imports.show": [("GET", lambda b: {"run_id": b.run_id}, None),
                     ("POST", lambda b: {"run_id": b.run_id}, {"col_0": "name", "start": "1"})],
    "imports.progress": [("GET", lambda b: {"run_id": b.run_id}, None)],
    "imports.errors_report": [("GET", lambda b: {"run_id": b.run_id}, None)],
    "imports.resume": [("POST", lambda b: {"run_id": b.run_id}, {})],
    "fields.edit": [("GET", lambda b: {"definition_id": b.field_id}, None),
                    ("POST", lambda b: {"definition_id": b.field_id}, {"label_zh": "HACKED", "label_en": "HACKED",
                                                                      "type": "text"})],
    "fields.archive": [("POST", lambda b: {"definition_id": b.field_id}, {"archived": "1"})],
    "customers.delete_view": [("POST", lambda b: {"view_id": b.view_id}, {})],
    "api_fields.update_field": [("PATCH", lambda b: {"definition_id": b.field_id}, {"label_en": "HACKED"})],
    "notifications.open_one": [("POST", lambda b: {"notification_id": b.notification_id}, {})],
    "webhooks.show": [("GET", lambda b: {"endpoint_id": b.webhook_id}, None)],
    "webhooks.ping": [("POST", lambda b: {"endpoint_id": b.webhook_id}, {})],
    "webhooks.toggle": [("POST", lambda b: {"endpoint_id": b.webhook_id}, {"active": "0"})],
    "webhooks.delete": [("POST", lambda b: {"endpoint_id": b.webhook_id}, {})],
    "webhooks.replay_delivery": [("POST", lambda b: {"endpoint_id": b.webhook_id, "delivery_id": b.delivery_id}, {})],
    "api_webhooks.get_webhook": [("GET", lambda b: {"endpoint_id": b.webhook_id}, None)],
    "api_webhooks.update_webhook": [("PATCH", lambda b: {"endpoint_id": b.webhook_id}, {"active": False})],
    "api_webhooks.delete_webhook": [("DELETE", lambda b: {"endpoint_id": b.webhook_id}, None)],
    "api_webhooks.list_deliveries": [("GET", lambda b: {"endpoint_id": b.webhook_id}, None)],
    "api_webhooks.replay_delivery": [("POST", lambda b: {"endpoint_id": b.webhook_id, "delivery_id": b.delivery_id},
                                      None)],
    "api_webhooks.ping_webhook": [("POST", lambda b: {"endpoint_id": b.webhook_id}, None)],
    "api_notifications.read_one": [("POST", lambda b: {"notification_id": b.notification_id}, None)],
    "files.download": [("GET", lambda b: {"file_id": b.file_id}, None)],
    "files.thumbnail": [("GET", lambda b: {"file_id": b.file_id}, None)],
    "api_files.get_file": [("GET", lambda b: {"file_id": b.file_id}, None)],
    "api_files.content": [("GET", lambda b: {"file_id": b.file_id}, None)],
    "api_files.thumbnail": [("GET", lambda b: {"file_id": b.file_id}, None)],
    "assets.add_reading": [("POST", lambda b: {"asset_id": b.asset_id}, {"value": "100"})],
    "api_assets.list_readings": [("GET", lambda b: {"asset_id": b.asset_id}, None)],
    "api_assets.add_reading": [("POST", lambda b: {"asset_id": b.asset_id}, {"value": 100})],
    "workflow.show": [("GET", lambda b: {"code": b.workflow_code}, None)],
    "workflow.edit": [("GET", lambda b: {"code": b.workflow_code}, None),
                      ("POST", lambda b: {"code": b.workflow_code}, {"name": "HACKED", "state_count": "0"})],
    "workflow.item": [("GET", lambda b: {"item_id": b.item_id}, None)],
    "workflow.move": [("POST", lambda b: {"item_id": b.item_id}, {"transition": "contact"})],
    "workflow.reject": [("POST", lambda b: {"item_id": b.item_id}, {"to_state": "new", "reason": "HACKED"})],
    "workflow.vote": [("POST", lambda b: {"item_id": b.item_id}, {"decision": "approve"})],
    "workflow.assign": [("POST", lambda b: {"item_id": b.item_id}, {"assignee_id": "1"})],
    "rules.show": [("GET", lambda b: {"rule_id": b.rule_id}, None)],
    "rules.edit": [("GET", lambda b: {"rule_id": b.rule_id}, None),
                   ("POST", lambda b: {"rule_id": b.rule_id}, {"name": "HACKED", "entity": "customer"})],
    "rules.switch": [("POST", lambda b: {"rule_id": b.rule_id}, {})],
    "api_workflows.get_definition": [("GET", lambda b: {"code": b.workflow_code}, None)],
    "api_workflows.put_definition": [("PUT", lambda b: {"code": b.workflow_code},
                                      {"code": "x", "name": "HACKED", "spec": {}})],
    "api_workflow_items.get_item": [("GET", lambda b: {"item_id": b.item_id}, None)],
    "api_workflow_items.move_item": [("POST", lambda b: {"item_id": b.item_id}, {"transition": "contact"})],
    "api_workflow_items.reject_item": [("POST", lambda b: {"item_id": b.item_id}, {"to_state": "new", "reason": "x"})],
    "api_workflow_items.vote_item": [("POST", lambda b: {"item_id": b.item_id}, {"approve": True})],
    "api_rules.get_rule": [("GET", lambda b: {"rule_id": b.rule_id}, None)],
    "api_rules.put_rule": [("PUT", lambda b: {"rule_id": b.rule_id},
                            {"name": "HACKED", "entity": "customer", "trigger": {}, "actions": []})],
    "api_rules.delete_rule": [("DELETE", lambda b: {"rule_id": b.rule_id}, None)],
    "api_rules.preview_rule": [("GET", lambda b: {"rule_id": b.rule_id}, None)],
    "api_rules.list_firings": [("GET", lambda b: {"rule_id": b.rule_id}, None)],
    "scheduling.appointment": [("GET", lambda b: {"appointment_id": b.appointment_id}, None)],
    "scheduling.act": [("POST", lambda b: {"appointment_id": b.appointment_id, "action": "cancel"}, {})],
    "scheduling.move": [("POST", lambda b: {"appointment_id": b.appointment_id},
                         {"starts_at": "2030-01-01T10:00:00+08:00"})],
    "scheduling.edit_resource": [("GET", lambda b: {"resource_id": b.resource_id}, None),
                                 ("POST", lambda b: {"resource_id": b.resource_id},
                                  {"store_id": "1", "name": "HACKED", "kind": "bay", "capacity": "1"})],
    "scheduling.services": [("GET", lambda b: {"service_id": b.service_type_id}, None),
                            ("POST", lambda b: {"service_id": b.service_type_id},
                             {"name": "HACKED", "duration_minutes": "30"})],
    "scheduling.delete_pattern": [("POST", lambda b: {"pattern_id": b.pattern_id}, {})],
    "scheduling.delete_exception": [("POST", lambda b: {"exception_id": b.exception_id}, {})],
    "scheduling.staff_profile": [("GET", lambda b: {"user_id": b.users["technician"]}, None),
                                 ("POST", lambda b: {"user_id": b.users["technician"]}, {"skills": "HACKED:1"})],
    "api_resources.get_resource": [("GET", lambda b: {"resource_id": b.resource_id}, None)],
    "api_resources.update_resource": [("PATCH", lambda b: {"resource_id": b.resource_id}, {"name": "HACKED"})],
    "api_service_types.get_service_type": [("GET", lambda b: {"service_id": b.service_type_id}, None)],
    "api_service_types.update_service_type": [("PATCH", lambda b: {"service_id": b.service_type_id},
                                               {"name": "HACKED"})],
    "api_staff_schedules.list_patterns": [("GET", lambda b: {"store_id": b.stores[0]}, None)],
    "api_staff_schedules.delete_pattern": [("DELETE", lambda b: {"pattern_id": b.pattern_id}, None)],
    "api_staff_schedules.list_exceptions": [("GET", lambda b: {"store_id": b.stores[0]}, None)],
    "api_staff_schedules.delete_exception": [("DELETE", lambda b: {"exception_id": b.exception_id}, None)],
    "api_staff_schedules.get_staff_profile": [("GET", lambda b: {"user_id": b.users["technician"]}, None)],
    "api_staff_schedules.put_staff_profile": [("PUT", lambda b: {"user_id": b.users["technician"]},
                                               {"skills": {"HACKED": 1}})],
    "api_staff_schedules.on_shift": [("GET", lambda b: {"store_id": b.stores[0]}, None)],
    "api_availability.availability": [("GET", lambda b: {"store_id": b.stores[0], "service_type_id":
                                                         b.service_type_id, "date": "2030-01-01"}, None)],
    "api_appointments.list_appointments": [("GET", lambda b: {"store_id": b.stores[0], "date": "2030-01-01"}, None)],
    "api_appointments.get_appointment": [("GET", lambda b: {"appointment_id": b.appointment_id}, None)],
    "api_appointments.reschedule_appointment": [("POST", lambda b: {"appointment_id": b.appointment_id},
                                                 {"starts_at": "2030-01-01T10:00:00+08:00"})],
    **{f"api_appointments.{action}_appointment": [("POST", lambda b: {"appointment_id": b.appointment_id}, {})]
       for action in ("confirm", "arrive", "start", "complete", "no_show", "cancel")},
    "api_dispatch.recommendations": [("GET", lambda b: {"store_id": b.stores[0]}, None)],
    # sales (quotes, orders, payments, the customer's share link)
    "sales.quote": [("GET", lambda b: {"quote_id": b.quote_id}, None)],
    "sales.order": [("GET", lambda b: {"order_id": b.order_id}, None)],
    "sales.add_line": [("POST", lambda b: {"document_id": b.order_id},
                        {"description": "HACKED", "quantity": "1", "unit_price": "1"})],
    "sales.update_line": [("POST", lambda b: {"document_id": b.order_id, "line_id": b.order_line_id},
                           {"quantity": "9"})],
    "sales.update_header": [("POST", lambda b: {"document_id": b.order_id}, {"header_discount_pct": "50"})],
    "sales.quote_action": [("POST", lambda b: {"quote_id": b.quote_id}, {"action": "revise"})],
    "sales.revision": [("GET", lambda b: {"quote_id": b.quote_id, "revision": 1}, None)],
    "sales.print_document": [("GET", lambda b: {"document_id": b.order_id}, None)],
    "sales.order_action": [("POST", lambda b: {"order_id": b.order_id}, {"action": "confirm"})],
    "sales.add_payment": [("POST", lambda b: {"order_id": b.order_id}, {"method": "cash", "amount": "1"})],
    "sales.add_refund": [("POST", lambda b: {"order_id": b.order_id}, {"method": "cash", "amount": "1", "note": "x"})],
    "sales.invoice": [("POST", lambda b: {"order_id": b.order_id}, {"invoice_state": "issued", "invoice_number": "X"})],
    "sales_public.share": [("GET", lambda b: {"token": b.share_token}, None),
                           ("POST", lambda b: {"token": b.share_token}, {"name": "HACKED", "decision": "decline"})],
    "api_quotes.get_quote": [("GET", lambda b: {"quote_id": b.quote_id}, None)],
    "api_quotes.update_quote": [("PATCH", lambda b: {"quote_id": b.quote_id}, {"notes": "HACKED"})],
    "api_quotes.add_quote_line": [("POST", lambda b: {"quote_id": b.quote_id},
                                   {"description": "HACKED", "quantity": "1", "unit_price": "1"})],
    "api_quotes.submit_quote": [("POST", lambda b: {"quote_id": b.quote_id}, None)],
    "api_quotes.send_quote": [("POST", lambda b: {"quote_id": b.quote_id}, None)],
    "api_quotes.revise_quote": [("POST", lambda b: {"quote_id": b.quote_id}, None)],
    "api_quotes.accept_quote": [("POST", lambda b: {"quote_id": b.quote_id}, {"name": "HACKED"})],
    # deposits (定金) on quotes
    "sales.add_deposit": [("POST", lambda b: {"quote_id": b.quote_id}, {"method": "cash", "amount": "1"})],
    "sales.refund_deposit": [("POST", lambda b: {"quote_id": b.quote_id, "deposit_id": b.deposit_id}, {})],
    "api_quotes.list_deposits": [("GET", lambda b: {"quote_id": b.quote_id}, None)],
    "api_quotes.record_deposit": [("POST", lambda b: {"quote_id": b.quote_id}, {"method": "cash", "amount": "1"})],
    "api_quotes.refund_deposit": [("POST", lambda b: {"quote_id": b.quote_id, "deposit_id": b.deposit_id}, {})],
    "api_orders.get_order": [("GET", lambda b: {"order_id": b.order_id}, None)],
    "api_orders.add_order_line": [("POST", lambda b: {"order_id": b.order_id},
                                   {"description": "HACKED", "quantity": "1", "unit_price": "1"})],
    "api_orders.confirm_order": [("POST", lambda b: {"order_id": b.order_id}, {})],
    "api_orders.fulfil_order": [("POST", lambda b: {"order_id": b.order_id}, {})],
    "api_orders.cancel_order": [("POST", lambda b: {"order_id": b.order_id}, {})],
    "api_orders.list_payments": [("GET", lambda b: {"order_id": b.order_id}, None)],
    "api_orders.record_payment": [("POST", lambda b: {"order_id": b.order_id}, {"method": "cash", "amount": "1"})],
    "api_orders.record_refund": [("POST", lambda b: {"order_id": b.order_id},
                                  {"method": "cash", "amount": "1", "note": "x"})],
    "api_orders.put_invoice": [("PUT", lambda b: {"order_id": b.order_id},
                                {"invoice_state": "issued", "invoice_number": "X"})],
    "reports.dashboard": [("GET", lambda b: {"dashboard_id": b.dashboard_id}, None),
                          ("GET", lambda b: {"dashboard_id": b.personal_dashboard_id}, None)],
    "reports.dashboard_home": [("POST", lambda b: {"dashboard_id": b.personal_dashboard_id}, {"home": "1"})],
    "reports.edit_dashboard": [("GET", lambda b: {"dashboard_id": b.dashboard_id}, None),
                               ("POST", lambda b: {"dashboard_id": b.dashboard_id}, {"name": "HACKED"})],
    "reports.compose": [("GET", lambda b: {"dashboard_id": b.dashboard_id}, None),
                        ("POST", lambda b: {"dashboard_id": b.dashboard_id}, {"action": "remove", "index": "0"})],
    "reports.delete_dashboard": [("POST", lambda b: {"dashboard_id": b.dashboard_id}, {}),
                                 ("POST", lambda b: {"dashboard_id": b.personal_dashboard_id}, {})],
    "reports.delete_alert": [("POST", lambda b: {"threshold_id": b.threshold_id}, {})],
    "surveys.show": [("GET", lambda b: {"survey_id": b.survey_id}, None)],
    "surveys.edit": [("GET", lambda b: {"survey_id": b.survey_id}, None),
                     ("POST", lambda b: {"survey_id": b.survey_id}, {"name": "HACKED", "q0.code": "x",
                                                                     "q0.label_zh": "x"})],
    "surveys.send": [("POST", lambda b: {"survey_id": b.survey_id}, {"customer_id": "1"})],
    "api_dashboards.get_dashboard": [("GET", lambda b: {"dashboard_id": b.dashboard_id}, None),
                                     ("GET", lambda b: {"dashboard_id": b.personal_dashboard_id}, None)],
    "api_dashboards.put_dashboard": [("PUT", lambda b: {"dashboard_id": b.dashboard_id},
                                      {"name": "HACKED", "items": []})],
    "api_dashboards.delete_dashboard": [("DELETE", lambda b: {"dashboard_id": b.dashboard_id}, None)],
    "api_kpi_alerts.delete_alert": [("DELETE", lambda b: {"threshold_id": b.threshold_id}, None)],
    "api_surveys.get_survey": [("GET", lambda b: {"survey_id": b.survey_id}, None)],
    "api_surveys.update_survey": [("PATCH", lambda b: {"survey_id": b.survey_id}, {"name": "HACKED"})],
    "api_survey_responses.get_response": [("GET", lambda b: {"response_id": b.response_id}, None)],
    "reports.builder_report": [("GET", lambda b: {"report_id": b.saved_report_id}, None)],
    "reports.builder_edit": [("GET", lambda b: {"report_id": b.saved_report_id}, None),
                             ("POST", lambda b: {"report_id": b.saved_report_id},
                              {"name": "HACKED", "entity": "customers", "columns": "name"})],
    "reports.builder_export": [("GET", lambda b: {"report_id": b.saved_report_id, "fmt": "csv"}, None)],
    "reports.builder_delete": [("POST", lambda b: {"report_id": b.saved_report_id}, {})],
    "api_reports.get_report": [("GET", lambda b: {"report_id": b.saved_report_id}, None)],
    "api_reports.put_report": [("PUT", lambda b: {"report_id": b.saved_report_id},
                                {"name": "HACKED", "spec": {"entity": "customers", "columns": ["name"]}})],
    "api_reports.delete_report": [("DELETE", lambda b: {"report_id": b.saved_report_id}, None)],
    "reports.delete_target": [("POST", lambda b: {"target_id": b.target_id}, {})],
    "api_kpis.delete_target": [("DELETE", lambda b: {"target_id": b.target_id}, None)],
    "api_reports.run_report": [("GET", lambda b: {"report_id": b.saved_report_id}, None)],
    # the example third-party plugin (tests/example_plugins), enabled for both tenants
    "carwash.show": [("GET", lambda b: {"wash_id": b.wash_id}, None)],
    "api_carwash.get_wash": [("GET", lambda b: {"wash_id": b.wash_id}, None)],
    "catalog.edit": [("GET", lambda b: {"item_id": b.catalog_item_id}, None),
                     ("POST", lambda b: {"item_id": b.catalog_item_id}, {"kind": "product", "sku": "HACK", "name": "HACKED"})],
    "catalog.components": [("GET", lambda b: {"item_id": b.package_id}, None),
                           ("POST", lambda b: {"item_id": b.package_id}, {"component_id": "1", "quantity": "1"})],
    "catalog.edit_category": [("POST", lambda b: {"category_id": b.category_id}, {"name": "HACKED"})],
    "stock.set_reorder": [("POST", lambda b: {"location_id": b.location_id, "item_id": b.catalog_item_id},
                           {"reorder_level": "99"})],
    "stock.transfer": [("GET", lambda b: {"transfer_id": b.transfer_id}, None),
                       ("POST", lambda b: {"transfer_id": b.transfer_id}, {})],
    "stock.count": [("GET", lambda b: {"count_id": b.count_id}, None),
                    ("POST", lambda b: {"count_id": b.count_id}, {"post": "1"})],
    "api_catalog.get_item": [("GET", lambda b: {"item_id": b.catalog_item_id}, None)],
    "api_catalog.update_item": [("PATCH", lambda b: {"item_id": b.catalog_item_id}, {"name": "HACKED"})],
    "api_catalog.set_components": [("PUT", lambda b: {"item_id": b.package_id}, {"lines": []})],
    "api_catalog.set_store_price": [("PUT", lambda b: {"item_id": b.catalog_item_id}, {"store_id": 1, "price": "1.00"})],
    "api_catalog.update_category": [("PATCH", lambda b: {"category_id": b.category_id}, {"name": "HACKED"})],
    "api_stock.get_location": [("GET", lambda b: {"location_id": b.location_id}, None)],
    "api_stock.get_transfer": [("GET", lambda b: {"transfer_id": b.transfer_id}, None)],
    "api_stock.receive_transfer": [("POST", lambda b: {"transfer_id": b.transfer_id}, {"lines": []})],
}

# list pages and endpoints: A's rows only
LIST_ROUTES = {
    "web.home": {}, "web.search": {"q": "customer"}, "stores.index": {}, "users.index": {}, "access.roles": {},
    "audit.index": {}, "customers.index": {}, "api_stores.list_stores": {}, "api_users.list_users": {},
    "api_customers.list_customers": {}, "api_tokens.list_tokens": {}, "api_me.me": {},
    "auth.tokens": {}, "tenancy.settings": {}, "plugins.index": {}, "api_plugins.list_plugins": {},
    "carwash.index": {}, "api_carwash.list_washes": {}, "customers.duplicates": {},
    "api_customers.list_duplicates": {}, "activities.my_tasks": {}, "api_activities.list_my_tasks": {},
    "assets.index": {}, "api_assets.list_assets": {}, "imports.index": {}, "imports.export_customers": {"fmt": "csv"},
    "fields.index": {}, "api_fields.list_fields": {},
    "notifications.index": {}, "api_notifications.list_notifications": {},
    "webhooks.index": {}, "api_webhooks.list_webhooks": {},
    "templates.index": {}, "api_templates.list_templates": {},
    "workflow.index": {}, "workflow.queue": {}, "workflow.new": {}, "rules.index": {}, "rules.new": {},
    "api_workflows.list_definitions": {}, "api_workflows.list_templates": {}, "api_workflow_items.list_items": {},
    "api_rules.list_rules": {},
    "billing.index": {}, "api_account.get_account": {},
    "catalog.index": {}, "catalog.categories": {}, "catalog.export": {"fmt": "csv"}, "api_catalog.list_items": {}, "api_catalog.list_categories": {},
    "stock.levels": {}, "stock.reorder": {}, "stock.movements": {}, "stock.transfers": {}, "stock.counts": {},
    "stock.locations": {}, "stock.receive": {}, "stock.adjust": {}, "stock.new_transfer": {},
    "api_stock.list_locations": {}, "api_stock.list_levels": {}, "api_stock.list_movements": {},
    "scheduling.day": {}, "scheduling.week": {}, "scheduling.my_day": {}, "scheduling.dispatch": {},
    "scheduling.slots": {}, "scheduling.resources": {}, "scheduling.patterns": {},
    "api_resources.list_resources": {}, "api_service_types.list_service_types": {},
    "sales.quotes": {}, "sales.orders": {}, "sales.item_search": {"q": "a"}, "api_quotes.list_quotes": {},
    "api_orders.list_orders": {},
    "reports.index": {}, "reports.kpi": {"code": "customers.new"}, "reports.alerts": {},
    "reports.export": {"code": "customers.new", "fmt": "csv"}, "surveys.index": {},
    "api_kpis.list_kpis": {}, "api_kpis.kpi_value": {"code": "customers.new"},
    "api_kpis.kpi_records": {"code": "customers.new"}, "api_dashboards.list_dashboards": {},
    "api_kpi_alerts.list_alerts": {}, "api_surveys.list_surveys": {}, "api_survey_responses.list_responses": {},
    "reports.builder_index": {}, "api_reports.list_reports": {}, "api_reports.list_entities": {},
    "reports.targets_page": {"month": "2029-01"}, "api_kpis.list_targets": {"month": "2029-01"},
}

# creating routes: B's ids given as references are refused, nothing of B changes
CREATE_ROUTES = {
    "stores.new": {"code": "N1", "name": "New"},
    "users.new": lambda b: {"display_name": "X", "email": "x@alpha.test", "password": "long-enough-pw",
                            "role_id": str(b.roles["advisor"]), "store_ids": str(b.stores[0])},
    "access.new_role": {"code": "cashier", "name": "Cashier"},
    "customers.new": lambda b: {"name": "X", "store_id": str(b.stores[0])},
    "api_stores.create_store": {"code": "N1", "name": "New"},
    "api_users.create_user": lambda b: {"display_name": "X", "email": "y@alpha.test", "password": "long-enough-pw",
                                        "role_id": b.roles["advisor"], "store_ids": [b.stores[0]]},
    "api_customers.create_customer": lambda b: {"name": "X", "store_id": b.stores[0]},
    "api_tokens.create_token": {"name": "mine"},
    "web.switch_store": lambda b: {"store_id": str(b.stores[0])},
    "carwash.index": lambda b: {"customer_id": str(b.customers[0]), "wash_type": "basic"},
    "api_carwash.create_wash": lambda b: {"customer_id": b.customers[0], "wash_type": "basic"},
    "api_activities.create_task": lambda b: {"title": "X", "customer_id": b.customers[0]},
    "api_assets.create_asset": lambda b: {"customer_id": b.customers[0], "type": "device", "name": "X"},
    "fields.new": {"code": "music", "label_zh": "音乐", "label_en": "Music", "type": "text"},
    "api_fields.create_field": {"code": "music", "label_zh": "音乐", "label_en": "Music", "type": "text"},
    "customers.bulk": lambda b: {"action": "add_tag", "value": "HACKED", "ids": str(b.customers[0])},
    "customers.save_view": {"view_name": "mine", "current": "/t/alpha/customers/?tag=x"},
    "api_files.upload": {},  # uploads land in the caller's tenant; no reference to anything else
    "webhooks.index": {"url": "https://erp.example.com/hook", "events": "customer.created"},
    "api_webhooks.create_webhook": {"url": "https://erp.example.com/hook"},
    "workflow.start": lambda b: {"entity": "customer", "record_id": str(b.customers[0]), "workflow": "lead"},
    "workflow.new": {"name": "Mine", "code": "mine", "state_count": "0", "transition_count": "0"},
    "rules.new": lambda b: {"name": "x", "entity": "customer", "trigger.type": "event", "trigger.event": "created",
                            "action_count": "1", "actions.0.type": "webhook", "actions.0.endpoint_id": str(b.webhook_id)},
    "api_workflow_items.start_item": lambda b: {"workflow": "lead", "entity": "customer", "record_id": b.customers[0]},
    "api_workflows.create_definition": {"template": "lead"},
    "api_rules.create_rule": lambda b: {"name": "x", "entity": "customer", "trigger": {"type": "event", "event": "created"},
                                        "actions": [{"type": "webhook", "endpoint_id": b.webhook_id}]},
    "catalog.new": lambda b: {"kind": "product", "sku": "NEW-1", "name": "X", "category_id": str(b.category_id)},
    "catalog.categories": lambda b: {"name": "X", "parent_id": str(b.category_id)},
    "api_catalog.create_item": lambda b: {"kind": "product", "sku": "NEW-1", "name": "X", "category_id": b.category_id},
    "api_catalog.create_category": lambda b: {"name": "X", "parent_id": b.category_id},
    "stock.receive": lambda b: {"location_id": str(b.location_id), "sku": "AMP-1", "quantity": "1"},
    "stock.adjust": lambda b: {"location_id": str(b.location_id), "sku": "AMP-1", "change": "1", "reason": "x"},
    "stock.new_transfer": lambda b: {"from_location_id": str(b.location_id), "to_location_id": str(b.location_id),
                                     "sku": "AMP-1", "quantity": "1"},
    "stock.new_count": lambda b: {"location_id": str(b.location_id)},
    "stock.locations": lambda b: {"store_id": str(b.stores[0]), "kind": "van", "name": "X"},
    "api_stock.create_location": lambda b: {"store_id": b.stores[0], "kind": "van", "name": "X"},
    "api_stock.receive": lambda b: {"item_id": b.catalog_item_id, "location_id": b.location_id, "quantity": "1"},
    "api_stock.issue": lambda b: {"item_id": b.catalog_item_id, "location_id": b.location_id, "quantity": "1"},
    "api_stock.adjust": lambda b: {"item_id": b.catalog_item_id, "location_id": b.location_id, "quantity": "1",
                                   "reason": "x"},
    "api_stock.send_transfer": lambda b: {"from_location_id": b.location_id, "to_location_id": b.location_id,
                                          "lines": [{"item_id": b.catalog_item_id, "quantity": "1"}]},
    "scheduling.book": lambda b: {"store_id": str(b.stores[0]), "service_type_id": str(b.service_type_id),
                                  "customer_id": str(b.customers[0]), "starts_at": "2030-01-01T10:00:00+08:00"},
    "scheduling.resources": lambda b: {"store_id": str(b.stores[0]), "name": "X", "kind": "bay", "capacity": "1"},
    "scheduling.patterns": lambda b: {"store_id": str(b.stores[0]), "user_id": str(b.users["technician"]),
                                      "weekday": "1", "starts_at": "09:00", "ends_at": "12:00"},
    "api_resources.create_resource": lambda b: {"store_id": b.stores[0], "name": "X", "kind": "bay"},
    "api_staff_schedules.create_pattern": lambda b: {"store_id": b.stores[0], "user_id": b.users["technician"],
                                                     "weekday": 1, "starts_at": "09:00", "ends_at": "12:00"},
    "api_staff_schedules.create_exception": lambda b: {"kind": "leave", "user_id": b.users["technician"],
                                                       "starts_at": "2030-01-01T09:00:00+08:00",
                                                       "ends_at": "2030-01-01T12:00:00+08:00"},
    "api_appointments.create_appointment": lambda b: {"store_id": b.stores[0], "service_type_id": b.service_type_id,
                                                      "customer_id": b.customers[0],
                                                      "starts_at": "2030-01-01T10:00:00+08:00"},
    "sales.new": lambda b: {"kind": "quote", "customer_id": str(b.customers[0])},
    "api_quotes.create_quote": lambda b: {"customer_id": b.customers[0]},
    "api_orders.create_order": lambda b: {"customer_id": b.customers[0]},
    "reports.new_dashboard": lambda b: {"name": "x", "role_id": str(b.roles["manager"])},
    "reports.copy_dashboard": {},  # a personal copy of the caller's own role's dashboard, in the caller's tenant
    "reports.alerts": lambda b: {"kpi_code": "tasks.overdue", "value": "1", "store_id": str(b.stores[0]),
                                 "active": "1"},
    "api_dashboards.create_dashboard": lambda b: {"name": "x", "role_id": b.roles["manager"]},
    "api_kpi_alerts.create_alert": lambda b: {"kpi_code": "tasks.overdue", "value": "1", "store_id": b.stores[0]},
    "api_surveys.create_survey": {"name": "x", "kind": "nps", "questions": [{"code": "q", "label_zh": "问"}]},
    # a report's spec names whitelisted fields only; B's values in a filter are data, run inside A
    # (test_report_builder: the report lists none of B's rows)
    "reports.builder_new": {"name": "x", "entity": "customers", "columns": "name", "filter_field_0": "name",
                            "filter_op_0": "eq", "filter_value_0": "BETA-customer-0"},
    "api_reports.create_report": {"name": "x", "spec": {"entity": "customers", "columns": ["name"], "filters": [
        {"field": "name", "op": "eq", "value": "BETA-customer-0"}]}},
    "api_surveys.send_survey": lambda b: {"survey_id": b.survey_id, "customer_id": b.customers[0]},
    # B's store or person as a target's key is refused (a field error), nothing of B changes
    "reports.targets_page": lambda b: {"kpi_code": "customers.new", "month": "2029-02", "value": "5",
                                       "store_id": str(b.stores[0]), "user_id": str(b.users["advisor"])},
    "api_kpis.set_target": lambda b: {"kpi_code": "customers.new", "month": "2029-02", "value": "5",
                                      "store_id": b.stores[0], "user_id": b.users["advisor"]},
    "api_rules.preview_unsaved": lambda b: {"name": "x", "entity": "customer",
                                            "trigger": {"type": "event", "event": "created"},
                                            "actions": [{"type": "webhook", "endpoint_id": b.webhook_id}],
                                            "conditions": {"segment": b.view_id}},
}

# routes naming a plugin, not a record: they act on the caller's own tenant only
PLUGIN_NAME_ROUTES = {
    "plugins.enable": ("POST", {}), "plugins.disable": ("POST", {}), "plugins.settings": ("POST", {"loyalty_every": "5"}),
    "api_plugins.enable_plugin": ("POST", None), "api_plugins.disable_plugin": ("POST", None),
    "api_plugins.get_plugin_settings": ("GET", None), "api_plugins.put_plugin_settings": ("PUT", {"loyalty_every": 5}),
}

# routes that take no record id and act on the signed-in user or nothing tenant-owned
SELF_ROUTES = {
    "web.language": "sets the user's own language",
    "auth.login": "public form of each tenant; A's credentials fail on B (test_auth)",
    "auth.logout": "ends the caller's own session",
    "auth.logout_everywhere": "ends the caller's own sessions",
    "auth.forgot": "answers the same for every login; mails only inside the URL's tenant (test_auth)",
    "auth.reset": "token is signed with its tenant id; another tenant rejects it (test_auth)",
    "auth.account": "changes the caller's own password",
    "notifications.read_all": "marks the caller's own notifications read (test_notifications)",
    "templates.edit": "names a message code, not a record: edits the caller's own tenant's wording (test_notifications)",
    "api_templates.put_template": "names a message code, not a record: edits the caller's own tenant (test_notifications)",
    "api_notifications.read_all": "marks the caller's own notifications read (test_notifications)",
    "workflow.copy": "names a built-in template, not a record: creates in the caller's tenant (test_engines_web)",
    "rules.copy": "names a built-in template, not a record: creates in the caller's tenant (test_engines_web)",
    "billing.dismiss_checklist": "hides the caller's own tenant's checklist",
    "billing.export": "exports the caller's own tenant (owners only; test_operators)",
    "billing.download_export": "an export of another tenant answers 404 (test_operators)",
    "billing.change_subscription": "acts on the caller's own tenant's subscription only (test_billing)",
    "billing.cancel_subscription": "acts on the caller's own tenant's subscription only (test_billing)",
    "billing.checkout": "starts Stripe Checkout for the caller's own tenant only (test_billing)",
    "billing.portal": "opens Stripe's portal for the caller's own tenant's customer only (test_billing)",
    "api_account.change_subscription": "acts on the token's own tenant's subscription only (test_billing)",
    "api_account.cancel_subscription": "acts on the token's own tenant's subscription only (test_billing)",
    "api_account.list_invoices": "the token's own tenant's Stripe customer only (test_billing)",
    "api_service_types.create_service_type": "creates a service in the token's own tenant; it references nothing",
    "booking.page": "public booking page: its signed link carries the tenant id; another tenant's link is 404 "
                    "(test_scheduling_web)",
    "booking.manage": "public manage page: signed link with the tenant id; another tenant's is 404 (test_scheduling_web)",
    "booking.cancel": "public cancel: signed link with the tenant id; another tenant's is 404 (test_scheduling_web)",
    "reports.digest_toggle": "opts the caller in or out of their own weekly digest (test_report_digest)",
    "surveys.from_template": "names a built-in template, not a record: creates in the caller's tenant (test_surveys)",
    "survey_page.answer": "public survey page: a token answers only inside its own tenant's URL; another tenant's "
                          "token is a 404 (test_surveys)",
}

EXEMPT = {
    "static": "vendored files",
    "public.index": "workspace chooser, no tenant data",
    "public.healthz": "health check, no tenant data",
    "public.set_language": "stores a language in the browser session",
    "api-docs.openapi_json": "the API description",
    "signup.form": "public signup: creates a new tenant of its own (test_signup_plans)",
    "signup.check_slug": "public: says whether a workspace name is free, nothing more",
    "signup.sent": "public page, no tenant data",
    "signup.verify": "opens the one tenant a signed link names (test_signup_plans)",
    "api_signup.create_signup": "public signup through the API: creates a new tenant of its own",
    "stripe_webhook.stripe_webhook": "Stripe's signed events; the tenant comes from our metadata (test_billing)",
    "ops.login": "operator console: operator accounts, not tenant users (test_operators)",
    "ops.logout": "operator console",
    "ops.index": "operator console: lists every tenant to operators only (test_operators)",
    "ops.audit": "operator console",
    "ops.act": "operator console: suspend/reactivate/export/delete, operators only (test_operators)",
    "ops.download": "operator console: exports, operators only (test_operators)",
}

# leads (storecrm.leads): B's leads, channels, campaigns and rules through A's pages and token
ID_ROUTES.update({
    "leads.show": [("GET", lambda b: {"lead_id": b.lead_id}, None)],
    "leads.act": [("POST", lambda b: {"lead_id": b.lead_id}, {"action": "contact"})],
    "leads.follow_up": [("POST", lambda b: {"lead_id": b.lead_id}, {"method": "call", "summary": "HACKED"})],
    "leads.assign": [("POST", lambda b: {"lead_id": b.lead_id}, {"owner_id": "1"})],
    "leads.convert": [("POST", lambda b: {"lead_id": b.lead_id}, {})],
    "leads.channel": [("GET", lambda b: {"channel_id": b.lead_channel_id}, None),
                      ("POST", lambda b: {"channel_id": b.lead_channel_id}, {"name": "HACKED", "active": "1"})],
    "leads.channel_secret": [("POST", lambda b: {"channel_id": b.lead_channel_id}, {})],
    "leads.channel_qr": [("GET", lambda b: {"channel_id": b.lead_channel_id}, None)],
    "leads.rule": [("GET", lambda b: {"rule_id": b.lead_rule_id}, None),
                   ("POST", lambda b: {"rule_id": b.lead_rule_id}, {"name": "HACKED", "active": "1"})],
    "leads.delete_rule": [("POST", lambda b: {"rule_id": b.lead_rule_id}, {})],
    "api_leads.get_lead": [("GET", lambda b: {"lead_id": b.lead_id}, None)],
    "api_leads.update_lead": [("PATCH", lambda b: {"lead_id": b.lead_id}, {"name": "HACKED"})],
    "api_leads.assign_lead": [("POST", lambda b: {"lead_id": b.lead_id}, {"owner_id": 1})],
    "api_leads.change_status": [("POST", lambda b: {"lead_id": b.lead_id}, {"action": "contact"})],
    "api_leads.convert_lead": [("POST", lambda b: {"lead_id": b.lead_id}, None)],
    "api_leads.add_follow_up": [("POST", lambda b: {"lead_id": b.lead_id}, {"method": "call", "summary": "HACKED"})],
    "api_leads.lead_history": [("GET", lambda b: {"lead_id": b.lead_id}, None)],
    "api_lead_channels.get_channel": [("GET", lambda b: {"channel_id": b.lead_channel_id}, None)],
    "api_lead_channels.update_channel": [("PATCH", lambda b: {"channel_id": b.lead_channel_id}, {"name": "HACKED"})],
    "api_lead_channels.regenerate_channel_secret": [("POST", lambda b: {"channel_id": b.lead_channel_id}, None)],
    "api_lead_campaigns.get_campaign": [("GET", lambda b: {"campaign_id": b.lead_campaign_id}, None)],
    "api_lead_campaigns.update_campaign": [("PATCH", lambda b: {"campaign_id": b.lead_campaign_id},
                                            {"name": "HACKED"})],
    "api_lead_rules.get_rule": [("GET", lambda b: {"rule_id": b.lead_rule_id}, None)],
    "api_lead_rules.update_rule": [("PATCH", lambda b: {"rule_id": b.lead_rule_id}, {"name": "HACKED"})],
    "api_lead_rules.delete_rule": [("DELETE", lambda b: {"rule_id": b.lead_rule_id}, None)],
    "leads.move_stage": [("POST", lambda b: {"lead_id": b.lead_id}, {"stage_id": "1"})],
    "leads.release": [("POST", lambda b: {"lead_id": b.lead_id}, {"reason": "no_answer"})],
    "leads.claim": [("POST", lambda b: {"lead_id": b.lead_id}, {})],
    "leads.stage": [("POST", lambda b: {"stage_id": b.lead_stage_id}, {"name": "HACKED", "active": "1"})],
    "api_leads.move_stage": [("POST", lambda b: {"lead_id": b.lead_id}, {"stage_id": 1})],
    "api_leads.claim_lead": [("POST", lambda b: {"lead_id": b.lead_id}, None)],
    "api_leads.release_lead": [("POST", lambda b: {"lead_id": b.lead_id}, {"reason": "no_answer"})],
    "leads.merge": [("POST", lambda b: {"lead_id": b.lead_id}, {"other_id": "1"})],
    "leads.move": [("POST", lambda b: {"lead_id": b.lead_id}, {"step": "contacted"})],
    "api_leads.merge_lead": [("POST", lambda b: {"lead_id": b.lead_id}, {"other_id": 1})],
    "api_lead_stages.get_stage": [("GET", lambda b: {"stage_id": b.lead_stage_id}, None)],
    "api_lead_stages.update_stage": [("PATCH", lambda b: {"stage_id": b.lead_stage_id}, {"name": "HACKED"})],
})
LIST_ROUTES.update({
    "leads.mine": {}, "leads.index": {}, "leads.board": {}, "leads.channels": {}, "leads.rules": {},
    "leads.funnel_page": {}, "api_leads.list_leads": {}, "api_lead_channels.list_channels": {},
    "api_lead_campaigns.list_campaigns": {}, "api_lead_rules.list_rules": {},
    "leads.pool": {}, "leads.stages": {}, "api_leads.pool": {}, "api_lead_stages.list_stages": {},
    "api_lead_settings.get_settings": {}, "leads.handover": {},
    "api_leads.stage_funnel": {"start": "2026-01-01", "end": "2026-12-31"},
    "api_leads.lead_funnel": {"start": "2026-01-01", "end": "2026-12-31"},
})
SELF_ROUTES.update({
    "leads.settings": "names no record: the pool settings of the caller's own tenant (test_leads_pipeline)",
    "api_lead_settings.put_settings": "names no record: the pool settings of the token's own tenant",
})
CREATE_ROUTES.update({
    "leads.new": lambda b: {"channel_id": str(b.lead_channel_id), "name": "X", "mobile": "13900009999"},
    "leads.channels": lambda b: {"name": "X", "store_id": str(b.stores[0]), "active": "1"},
    "leads.campaigns": lambda b: {"name": "X", "channel_id": str(b.lead_channel_id)},
    "leads.rules": lambda b: {"name": "X", "channel_id": str(b.lead_channel_id), "active": "1"},
    "api_leads.create_lead": lambda b: {"channel_id": b.lead_channel_id, "name": "X", "mobile": "13900009999"},
    "leads.stages": lambda b: {"name": "X"},
    # B's advisor named as the one leaving, or as the new owner: refused, nothing of B moves
    "leads.handover": lambda b: {"from_user_id": str(b.users["advisor"])},
    "api_leads.handover": lambda b: {"from_user_id": b.users["advisor"]},
    "api_lead_stages.create_stage": lambda b: {"name": "X"},
    "api_lead_channels.create_channel": lambda b: {"name": "X", "store_id": b.stores[0]},
    "api_lead_campaigns.create_campaign": lambda b: {"name": "X", "channel_id": b.lead_channel_id},
    "api_lead_rules.create_rule": lambda b: {"name": "X", "fallback_user_id": b.users["advisor"]},
})
EXEMPT.update({
    "lead_public.form": "public lead form: its signed token names the tenant; another tenant's answers 404 "
                        "(test_leads_web)",
    "lead_public.thanks": "public thank-you page of a signed form link; another tenant's answers 404",
    "lead_public.inbound_webhook": "signed by the channel's secret; another tenant's channel id answers 404 "
                                   "(test_leads_web)",
})


def all_covered():
    return set(ID_ROUTES) | set(LIST_ROUTES) | set(CREATE_ROUTES) | set(SELF_ROUTES) | set(EXEMPT) | \
        set(PLUGIN_NAME_ROUTES)


def builtin_vertical_endpoints(app) -> set[str]:
    """Routes of the built-in verticals (plugins/): each plugin's own suite runs `assert_plugin_isolated` over them,
    which fails on a route without tenant B's ids, so they are covered there (see the test below)."""
    host = app.extensions["storecrm"]
    verticals = {name for name in host.infos if type(host.pm.get_plugin(name)).__name__ == "module"
                 and host.pm.get_plugin(name).__name__.startswith("storecrm.plugins.")}
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if host.owners.get(rule.endpoint.rsplit(".", 1)[0]) in verticals}


def test_every_built_in_vertical_runs_the_isolation_matrix(app):
    import pathlib

    host = app.extensions["storecrm"]
    root = pathlib.Path(__file__).resolve().parent.parent / "plugins"
    for name in host.infos:
        module = host.pm.get_plugin(name)
        if getattr(module, "__name__", "").startswith("storecrm.plugins."):
            folder = root / module.__name__.split(".")[2]
            tests = "".join(p.read_text() for p in folder.rglob("test*.py"))
            assert f'assert_plugin_isolated(app, "{name}"' in tests, f"plugin {name}: no assert_plugin_isolated test"


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - builtin_vertical_endpoints(app)
    missing = endpoints - all_covered()
    assert not missing, f"routes missing from the cross-tenant matrix: {sorted(missing)}"
    stale = all_covered() - endpoints
    assert not stale, f"matrix names routes that no longer exist: {sorted(stale)}"


def snapshot(system_db, tenant_id):
    with system_db.connect() as conn:
        out = {}
        for table in tenant_tables(conn):
            if table == "audit_log":
                continue
            rows = conn.execute(text(f'SELECT * FROM "{table}" WHERE tenant_id = :t ORDER BY 2, 3'), {"t": tenant_id})
            out[table] = [tuple(r) for r in rows]
        out["_audit_count"] = conn.execute(text("SELECT count(*) FROM audit_log WHERE tenant_id = :t"),
                                           {"t": tenant_id}).scalar()
        out["_tenant"] = tuple(conn.execute(text("SELECT * FROM tenants WHERE id = :t"), {"t": tenant_id}).one())
        return out


# The world below takes ~2 s to build and the matrix runs ~380 tests on it. It is built once per module, copied
# into a schema of its own, and copied back before each test (after the previous test's truncation): every test
# still starts from the same rows, ids and sequence positions, for a tenth of the time. Copying back runs with
# session_replication_role = replica, so no trigger fires twice (the stock ledger); that needs a superuser: the
# embedded server's (STORECRM_EMBEDDED_ADMIN_URL); elsewhere every test builds the world itself.
SNAPSHOT_SCHEMA = "xt_world_snapshot"
_snapshot: dict = {}


def _copied_tables(conn) -> list[tuple[str, str]]:
    """(table, column list without generated columns) of every table the clean-up truncates that holds rows."""
    out = []
    for (table,) in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('alembic_version', 'plans') AND tablename NOT LIKE 'alembic\\_version\\_%' "
            "ORDER BY tablename")):
        if not conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM public."{table}")')).scalar():
            continue
        columns = [r[0] for r in conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = :t "
            "AND is_generated = 'NEVER' ORDER BY ordinal_position"), {"t": table})]
        out.append((table, ", ".join(f'"{c}"' for c in columns)))
    return out


def _superuser_engine(app):
    import os

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = os.environ.get("STORECRM_EMBEDDED_ADMIN_URL")
    if not admin:
        return None
    database = make_url(app.config["DATABASE_OWNER_URL"]).database
    return create_engine(make_url(admin).set(drivername="postgresql+psycopg2", database=database),
                         poolclass=__import__("sqlalchemy.pool", fromlist=["NullPool"]).NullPool)


def _take_snapshot(engine) -> None:
    if engine is None:
        return
    with engine.begin() as conn:
        if not conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
            return
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SNAPSHOT_SCHEMA}"))
        tables = _copied_tables(conn)
        for table, columns in tables:
            conn.execute(text(f'CREATE TABLE {SNAPSHOT_SCHEMA}."{table}" AS SELECT {columns} FROM public."{table}"'))
        sequences = conn.execute(text(
            "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences "
            "WHERE schemaname = 'public' AND last_value IS NOT NULL")).all()
    _snapshot.update(tables=tables, sequences=sequences, engine=engine)


def _restore_snapshot() -> None:
    with _snapshot["engine"].begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table, columns in _snapshot["tables"]:
            conn.execute(text(f'INSERT INTO public."{table}" ({columns}) OVERRIDING SYSTEM VALUE '
                              f'SELECT {columns} FROM {SNAPSHOT_SCHEMA}."{table}"'))
        for sequence, value in _snapshot["sequences"]:
            conn.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": value})


@pytest.fixture(scope="module", autouse=True)
def _drop_world_snapshot(request):
    yield
    if _snapshot:
        engine = _snapshot["engine"]
        _snapshot.clear()
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE"))
        engine.dispose()


@pytest.fixture
def world(request, app):
    if _snapshot:
        _restore_snapshot()
        return _snapshot["world"]
    built = _build_world(request.getfixturevalue("two_tenants"), request.getfixturevalue("api_token"), app,
                         request.getfixturevalue("system_db"), request.getfixturevalue("in_tenant"))
    _take_snapshot(_superuser_engine(app))
    if _snapshot:
        _snapshot["world"] = built
    return built


def _build_world(two_tenants, api_token, app, system_db, in_tenant):
    alpha, beta = two_tenants
    from storecrm.plugin_host.services import enable
    from storecrm_carwash.services import record_wash

    from storecrm.customers.identities import identities_of
    from storecrm.customers.merging import merge
    from storecrm.customers.models import Customer

    for w in (alpha, beta):
        with in_tenant(w) as session:
            enable("carwash")
            w.wash_id = record_wash(w.customers[0], "basic").id
            w.identity_id = identities_of(w.customers[0])[0].id
            dup = Customer(name=f"{w.slug.upper()}-customer-2", store_id=w.stores[0])
            session.add(dup)
            session.flush()
            keeper = session.get(Customer, (w.id, w.customers[2]))
            w.merge_id = merge(keeper, dup, {}).id
            from storecrm.activities.models import Task

            task = Task(title=f"{w.slug.upper()} task", assignee_id=w.users["owner"], customer_id=w.customers[0])
            session.add(task)
            session.flush()
            w.task_id = task.id
            from storecrm.users.models import User
            from storecrm.assets.services import create_asset

            owner = session.get(User, (w.id, w.users["owner"]))
            from storecrm.fields.models import FieldDefinition
            from storecrm.imports.models import ImportRun

            field = FieldDefinition(entity="customer", code="budget", label_zh="预算", label_en=f"{w.slug.upper()} budget",
                                    type="money")
            session.add(field)
            session.flush()
            w.field_id = field.id
            from storecrm.customers.models import SavedView

            view = SavedView(user_id=w.users["owner"], name=f"{w.slug} view", query={"tag": "VIP"}, shared=True)
            session.add(view)
            session.flush()
            w.view_id = view.id

            from storecrm.files.services import accept_upload
            from tests.test_files import _jpeg

            w.file_id = accept_upload(owner, f"{w.slug}.jpg", _jpeg()).id

            from storecrm.catalog import services as catalog
            from storecrm.catalog.schemas import CategorySchema, ItemSchema
            from storecrm.stock import services as stock
            from storecrm.stores.models import Store

            w.category_id = catalog.create_category(CategorySchema().load({"name": f"{w.slug.upper()} amps"})).id
            item = catalog.create_item(owner, ItemSchema().load({"kind": "product", "sku": "AMP-1",
                                                                 "name": f"{w.slug.upper()} amplifier"}))
            package = catalog.create_item(owner, ItemSchema().load({"kind": "package", "sku": "PKG-1",
                                                                    "name": f"{w.slug.upper()} package"}))
            catalog.set_package_lines(package, [{"component_id": item.id, "quantity": 2}])
            w.catalog_item_id, w.package_id = item.id, package.id
            shelf = stock.location_for_store(session.get(Store, (w.id, w.stores[0])))
            other = stock.location_for_store(session.get(Store, (w.id, w.stores[1])))
            w.location_id = shelf.id
            stock.receive(item, shelf, 5, unit_cost="10")
            w.transfer_id = stock.send_transfer(shelf, other, [{"item_id": item.id, "quantity": 1}]).id
            w.count_id = stock.start_count(shelf).id
            from storecrm.notifications.services import notify_user

            w.notification_id = notify_user(owner, f"{w.slug.upper()} reminder", email=False).id
            from storecrm.notifications.models import OutboxMessage, WebhookEndpoint

            hook = WebhookEndpoint(url=f"https://{w.slug}.example.com/hook", description=f"{w.slug.upper()} ERP",
                                   secret="whsec_test", events=[])
            session.add(hook)
            session.flush()
            w.webhook_id = hook.id
            delivery = OutboxMessage(channel="webhook", recipient=hook.url, subject="ping", status="dead",
                                     payload={"endpoint_id": hook.id, "event": {"type": "ping"}})
            session.add(delivery)
            session.flush()
            w.delivery_id = delivery.id
            run = ImportRun(user_id=w.users["owner"], filename=f"{w.slug}.xlsx", stored_as="nowhere.xlsx",
                            headers=["name"], total_rows=1)
            session.add(run)
            session.flush()
            w.run_id = run.id
            w.asset_id = create_asset(owner, session.get(Customer, (w.id, w.customers[0])),
                                      {"type": "vehicle", "name": f"{w.slug.upper()} car",
                                       "identifiers": {"plate": "沪A1234" + str(w.id % 10)}}).id
            from storecrm.rules.engine import save as save_rule
            from storecrm.workflow import engine as workflows

            workflows.copy_template(owner, "lead")
            own = workflows.save_definition(owner, f"{w.slug}_flow", "customer", f"{w.slug.upper()} flow",
                                            workflows.current_definition("lead").spec, is_new=True)
            w.workflow_code = own.code
            w.item_id = workflows.start(owner, "customer", session.get(Customer, (w.id, w.customers[0])), "lead").id
            from datetime import datetime, time as clock, timezone

            from storecrm.scheduling import booking as scheduling
            from storecrm.scheduling.models import (Resource, ScheduleException, ServiceType, StaffSkill,
                                                    WorkingPattern)

            tech = w.users["technician"]
            pattern = WorkingPattern(user_id=tech, store_id=w.stores[0], weekday=1, starts_at=clock(9),
                                     ends_at=clock(18))
            resource = Resource(store_id=w.stores[0], name=f"{w.slug.upper()} bay", kind="bay", capacity=1)
            service = ServiceType(name=f"{w.slug.upper()} install", duration_minutes=60, required_skills={},
                                  resource_kind="bay", max_days_ahead=3650, min_notice_minutes=0)
            leave = ScheduleException(kind="leave", user_id=tech, starts_at=datetime(2031, 1, 1, tzinfo=timezone.utc),
                                      ends_at=datetime(2031, 1, 2, tzinfo=timezone.utc), note=f"{w.slug.upper()}")
            session.add_all([pattern, resource, service, leave, StaffSkill(user_id=tech, skill="install", level=2)])
            session.flush()
            w.pattern_id, w.resource_id, w.service_type_id, w.exception_id = pattern.id, resource.id, service.id, leave.id
            w.appointment_id = scheduling.book(None, {
                "store_id": w.stores[0], "service_type_id": service.id, "customer_id": w.customers[0],
                "starts_at": datetime(2029, 1, 2, 2, 0, tzinfo=timezone.utc)}).id  # a Tuesday, 10:00 Shanghai
            from storecrm.reports import services as reports
            from storecrm.surveys import services as surveys

            board = reports.save_dashboard(owner, None, {"name": f"{w.slug.upper()} board", "items": [
                {"kind": "kpi", "code": "customers.new", "chart": "line"}]})
            w.dashboard_id = board.id
            w.personal_dashboard_id = reports.save_dashboard(owner, None, {
                "name": f"{w.slug.upper()} mine", "personal": True, "home": True,
                "items": [{"kind": "kpi", "code": "tasks.overdue", "chart": "number"}]}).id
            w.threshold_id = reports.save_threshold(owner, None, {"kpi_code": "tasks.overdue", "value": 1}).id
            from storecrm.reports import saved as saved_reports

            w.saved_report_id = saved_reports.save_report(owner, None, f"{w.slug.upper()} report", {
                "entity": "customers", "columns": ["name"]}).id
            from storecrm.reports import targets as kpi_targets

            w.target_id = kpi_targets.set_target(owner, {"kpi_code": "customers.new", "month": "2029-01",
                                                         "value": "7", "store_id": w.stores[0]}).id
            survey = surveys.create_survey({"name": f"{w.slug.upper()} survey", "kind": "nps", "questions": [
                {"code": "q", "label_zh": f"{w.slug.upper()} question"}]})
            w.survey_id = survey.id
            invitation = surveys.send_survey(survey, session.get(Customer, (w.id, w.customers[1])))
            sms = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"survey:{invitation.id}"))
            w.survey_token = sms.body.rsplit("/", 1)[-1]
            w.response_id = surveys.answer(surveys.send_survey(
                survey, session.get(Customer, (w.id, w.customers[0]))), {"q": 9}, f"{w.slug.upper()} comment").id
            w.rule_id = save_rule(None, {"name": f"{w.slug.upper()} rule", "entity": "customer", "enabled": False,
                                         "trigger": {"type": "event", "event": "created"},
                                         "actions": [{"type": "add_tag", "tag": "x"}]}).id
            from decimal import Decimal

            from storecrm.sales import services as sales

            order = sales.create_order(owner, {"customer_id": w.customers[0], "store_id": w.stores[0],
                                               "notes": f"{w.slug.upper()} order", "lines": [
                                                   {"description": f"{w.slug.upper()} labour", "quantity": Decimal(1),
                                                    "unit_price": Decimal("100")}]})
            sales.record_payment(owner, order, {"method": "cash", "amount": Decimal("10")})
            quote = sales.create_quote(owner, {"customer_id": w.customers[0], "store_id": w.stores[0], "lines": [
                {"description": f"{w.slug.upper()} package", "quantity": Decimal(1), "unit_price": Decimal("100")}]})
            sales.send_quote(owner, quote)
            sales.revise_quote(owner, quote)
            sales.send_quote(owner, quote)
            from storecrm.sales import deposits

            w.deposit_id = deposits.record_deposit(owner, quote, {"method": "cash", "amount": Decimal("5")}).id
            w.order_id, w.quote_id, w.share_token = order.id, quote.id, quote.share_token
            w.order_line_id = sales.lines_of(order)[0].id
            from storecrm.leads import services as lead_services
            from storecrm.leads import setup as lead_setup

            channel = lead_setup.save_channel(None, {"name": f"{w.slug.upper()} channel", "store_id": w.stores[0]})
            w.lead_channel_id = channel.id
            w.lead_campaign_id = lead_setup.save_campaign(None, {"name": f"{w.slug.upper()} campaign",
                                                                  "channel_id": channel.id}).id
            w.lead_rule_id = lead_setup.save_rule(None, {"name": f"{w.slug.upper()} lead rule",
                                                         "store_id": w.stores[0]}).id
            w.lead_id = lead_services.capture(channel, {"name": f"{w.slug.upper()} lead",
                                                        "mobile": "+8613911112222"})[0].id
            w.lead_stage_id = lead_services.save_stage(None, {"name": f"{w.slug.upper()} stage", "position": 1}).id
    beta_headers = api_token(beta, "owner")
    with system_db.connect() as conn:
        beta.token_id = conn.execute(text("SELECT max(id) FROM api_tokens WHERE tenant_id = :t"), {"t": beta.id}).scalar()
    return alpha, beta, api_token(alpha, "owner"), beta_headers


def _url(app, endpoint, tenant_slug, params, query=None):
    from flask import url_for

    with app.test_request_context():
        values = dict(params)
        rule = next(app.url_map.iter_rules(endpoint))
        if "tenant" in rule.arguments:
            values["tenant"] = tenant_slug
        return url_for(endpoint, **values, **(query or {}), _external=False)


def _call(app, browser, headers, method, endpoint, url, body):
    if endpoint.startswith("api_"):
        client = app.test_client()
        return client.open(url, method=method, headers=headers, json=body if body is not None else None)
    if method == "GET":
        return browser.get(url)
    return browser.post(url, body or {})


@pytest.mark.parametrize("endpoint", sorted(ID_ROUTES))
def test_tenant_a_given_tenant_b_ids_gets_404_and_b_is_unchanged(endpoint, world, login, app, system_db):
    alpha, beta, alpha_headers, _ = world
    browser = login(alpha, "owner")
    before = snapshot(system_db, beta.id)
    for method, params, body in ID_ROUTES[endpoint]:
        url = _url(app, endpoint, alpha.slug, params(beta))
        resp = _call(app, browser, alpha_headers, method, endpoint, url, body)
        assert resp.status_code == 404, (method, url, resp.status_code)
        if endpoint.startswith("api_"):
            assert resp.mimetype == "application/problem+json"
    assert snapshot(system_db, beta.id) == before


@pytest.mark.parametrize("endpoint", sorted(LIST_ROUTES))
def test_lists_never_show_tenant_b_rows(endpoint, world, login, app):
    alpha, beta, alpha_headers, _ = world
    browser = login(alpha, "owner")
    url = _url(app, endpoint, alpha.slug, {}, LIST_ROUTES[endpoint])
    resp = _call(app, browser, alpha_headers, "GET", endpoint, url, None)
    assert resp.status_code == 200, (url, resp.status_code)
    body = resp.get_data(as_text=True)
    for marker in B_MARKERS:
        assert marker not in body, (url, marker)
    if endpoint in ("customers.index", "api_customers.list_customers", "web.search"):
        assert "ALPHA-customer-0" in body


@pytest.mark.parametrize("endpoint", sorted(PLUGIN_NAME_ROUTES))
def test_switching_plugins_changes_only_the_callers_tenant(endpoint, world, login, app, system_db):
    alpha, beta, alpha_headers, _ = world
    browser = login(alpha, "owner")
    method, body = PLUGIN_NAME_ROUTES[endpoint]
    before = snapshot(system_db, beta.id)
    url = _url(app, endpoint, alpha.slug, {"name": "carwash"})
    resp = _call(app, browser, alpha_headers, method, endpoint, url, body)
    assert resp.status_code < 400, (endpoint, resp.status_code, resp.get_data(as_text=True)[:300])
    assert snapshot(system_db, beta.id) == before


@pytest.mark.parametrize("endpoint", sorted(CREATE_ROUTES))
def test_creating_with_tenant_b_references_changes_nothing_of_b(endpoint, world, login, app, system_db):
    alpha, beta, alpha_headers, _ = world
    browser = login(alpha, "owner")
    body = CREATE_ROUTES[endpoint]
    body = body(beta) if callable(body) else dict(body)
    before = snapshot(system_db, beta.id)
    url = _url(app, endpoint, alpha.slug, {})
    resp = _call(app, browser, alpha_headers, "POST", endpoint, url, body)
    assert resp.status_code < 500
    if any(isinstance(v, int) or (isinstance(v, str) and v.isdigit()) for v in body.values()) \
            and endpoint not in ("web.switch_store", "customers.bulk"):  # bulk ignores ids it cannot see
        assert resp.status_code == 422, (endpoint, resp.status_code)
    assert snapshot(system_db, beta.id) == before
    if endpoint == "web.switch_store":
        listing = browser.get(f"/t/{alpha.slug}/customers/").get_data(as_text=True)
        assert "ALPHA-customer-0" in listing


def test_a_session_of_tenant_a_is_not_valid_on_tenant_b(world, login, app):
    alpha, beta, _, _ = world
    browser = login(alpha, "owner")
    for endpoint in sorted(set(LIST_ROUTES) | set(ID_ROUTES) | {"auth.account"}):
        if endpoint.startswith("api_") or endpoint.startswith("sales_public."):
            continue  # the API takes tokens, not sessions; a quote's share link is public to whoever holds it
        if endpoint in ID_ROUTES and ID_ROUTES[endpoint][0][0] != "GET":
            method, params, body = ID_ROUTES[endpoint][0]
            resp = browser.post(_url(app, endpoint, beta.slug, params(beta)), body or {})
        else:
            params = ID_ROUTES[endpoint][0][1](beta) if endpoint in ID_ROUTES else dict(LIST_ROUTES.get(endpoint, {}))
            resp = browser.client.get(_url(app, endpoint, beta.slug, params))
        assert resp.status_code == 302, (endpoint, resp.status_code)
        assert resp.headers["Location"].startswith(f"/t/{beta.slug}/login"), resp.headers["Location"]


def test_tenant_a_token_on_tenant_b_ids_reads_nothing(world, app):
    """A token names its tenant; B's ids through A's token are plain 404s (covered above), and a
    token whose tenant part is altered to B's id is refused outright."""
    alpha, beta, alpha_headers, _ = world
    token = alpha_headers["Authorization"].split(" ", 1)[1]
    prefix, _tid, rest = token.split("_", 2)
    forged = f"{prefix}_{beta.id}_{rest}"
    resp = app.test_client().get("/api/v1/customers", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"


def test_merging_with_another_tenants_customer_is_refused(world, login, app, system_db):
    alpha, beta, alpha_headers, _ = world
    before = snapshot(system_db, beta.id)
    browser = login(alpha, "owner")
    page = browser.get(f"/t/alpha/customers/{alpha.customers[0]}/merge?other_id={beta.customers[0]}")
    assert page.status_code == 422
    resp = browser.post(f"/t/alpha/customers/{alpha.customers[0]}/merge", {"other_id": str(beta.customers[0])})
    assert resp.status_code == 422
    api = app.test_client().post(f"/api/v1/customers/{alpha.customers[0]}/merge", json={"other_id": beta.customers[0]},
                                 headers=alpha_headers)
    assert api.status_code == 422
    assert snapshot(system_db, beta.id) == before
