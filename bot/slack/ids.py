"""Every callback_id, block_id and action_id the app sends and listens for, in one place."""

from enum import StrEnum


class CallbackId(StrEnum):
    DECLARE_MODAL = "declare_incident"
    DECLARE_SHORTCUT = "declare_incident_from_message"
    UPDATE_MODAL = "post_incident_update"
    RESOLVE_MODAL = "resolve_incident"
    HANDOFF_NOTE_MODAL = "handoff_note"


class BlockId(StrEnum):
    TITLE = "title"
    DESCRIPTION = "description"
    PRIORITY = "priority"
    IMPACT = "impact"
    COMMANDER = "commander"
    ROTATION = "rotation"
    TYPE = "incident_type"
    UPDATE_TEXT = "update_text"
    RESOLVE_SUMMARY = "resolve_summary"
    ROLLBACK = "rollback"
    FOLLOW_UPS = "follow_ups"
    SUMMARY_ACTIONS = "incident_actions"
    PAGE_ACTIONS = "page_actions"
    HANDOFF_ACTIONS = "handoff_actions"
    HANDOFF_NOTE = "handoff_note"
    COVER_ACTIONS = "cover_actions"


class ActionId(StrEnum):
    TITLE = "title_input"
    DESCRIPTION = "description_input"
    PRIORITY = "priority_select"
    IMPACT = "impact_checkboxes"
    COMMANDER = "commander_select"
    ROTATION = "rotation_select"
    TYPE = "incident_type_select"
    UPDATE_TEXT = "update_text_input"
    RESOLVE_SUMMARY = "resolve_summary_input"
    ROLLBACK = "rollback_radio"
    FOLLOW_UPS = "follow_ups_input"
    ACKNOWLEDGE = "incident_acknowledge"
    POST_UPDATE = "incident_post_update"
    TAKE_COMMAND = "incident_take_command"
    RESOLVE = "incident_resolve"
    PAGE_ACKNOWLEDGE = "page_acknowledge"
    PAGE_ESCALATE = "page_escalate"
    HANDOFF_NOTE = "handoff_add_note"
    HANDOFF_NOTE_TEXT = "handoff_note_input"
    HAND_OVER = "handoff_hand_over"
    COVER_TAKE = "cover_take"
    COVER_WITHDRAW = "cover_withdraw"
    COVER_ASK = "cover_ask"
    CONTACT_TEST = "contact_test"
    CONTACT_REMOVE = "contact_remove"
