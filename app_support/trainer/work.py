"""The Trainer's last section: what this server keeps for the learner, their link to it from another
computer, and "Delete all my work"."""

from __future__ import annotations

import streamlit as st

from app_support.common import identity, kept, lesson_view
from app_support.common.runs import kept_store, owner, run_manager
from cnnviz.errors import InvalidInput
from cnnviz.store import StoreUnavailable


def section() -> None:
    """How much is kept (and the limits), the "continue on another computer" link, and deleting it all."""
    store = kept_store()
    try:
        usage = store.usage(owner())
    except StoreUnavailable as error:
        st.warning(f"Nothing can be kept for you right now. {error}")
        return
    st.caption(
        f"This server keeps your runs, your own classes, your place in the lessons and your settings for you alone: "
        f"{usage.runs} run{'s' if usage.runs != 1 else ''} and {usage.bytes / 2**20:.1f} MB now, of at most "
        f"{store.limit_runs} runs and {store.limit_megabytes:g} MB. Work untouched for {store.keep_days:g} days "
        "is removed."
    )
    try:  # over a limit (a long run's checkpoints can take it past): said here, not only on the next Train
        store.check_room(owner(), usage)
    except InvalidInput as full:
        st.warning(f"{full} Until then this server keeps what you have, but trains nothing new for you.")
    left, right = st.columns(2)
    with left.expander("Continue on another computer"):
        link = lesson_view.absolute_link({identity.CONTINUE_PARAM: identity.learner_id()}, "")
        st.code(link, language=None, wrap_lines=True)
        st.caption(
            "Open this link on the other computer: it shows your work there too. Anyone with the link can open "
            "your work: keep it to yourself, never put it in a shared document or a chat."
        )
    with right.popover("Delete all my work", icon=":material/delete_forever:"):
        st.caption("Every run, model and checkpoint, your own classes, your place in the lessons: deleted for good.")
        if st.button("Delete everything", key="work_delete_all", type="primary"):
            removed = run_manager().delete_owner(owner())
            kept.forget_session()
            for name in ("own_classes", "trainer_run", "own_datasets"):
                st.session_state.pop(name, None)
            st.session_state["work_deleted"] = removed
            st.rerun()
    if (removed := st.session_state.pop("work_deleted", None)) is not None:
        st.success(f"Deleted: {removed} run{'s' if removed != 1 else ''} and everything else you had made here.")
