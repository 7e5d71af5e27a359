"""Moving configuration through its life: promote, rollback, mark-good, rotate, owner, handoff.

Changes are computed as pure plans (``plan_promote``, ``plan_rollback``) that
read but never write; ``apply_*`` writes a plan in one store transaction and
refuses when the data moved under it (check-and-set on the versions the plan
was computed from). A dry run is the plan without the apply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from envman.diff import ProfileDiff, diff_profiles
from envman.errors import ConflictError, EnvmanError, InvalidValue, NotFound, RetiredKeyMissing, UsageError
from envman.ops import Change, Project, _key_ids, effective_meta, good_versions, put_value, resolve_version
from envman.profile import Profile, SecretRecord, VarMeta
from envman.records import Record
from envman.schema import check_note, check_var_name

if TYPE_CHECKING:
    from envman.checks import Finding
    from envman.credentials import Credential
    from envman.ledger import Entry
    from envman.store import Transaction

_TIME = "%Y-%m-%dT%H:%M:%SZ"
# Who answers for a variable: kept as they are now when a rollback restores older values.
_OWNERSHIP = ("owner", "rotation_method", "rotation_days", "note")


def _now() -> str:
    from envman.store.files import now_utc

    return now_utc()


def _conflict(env: str) -> ConflictError:
    return ConflictError(f"{env} changed while the plan was being made", "nothing was changed; re-run the command to see the new plan")


def _commit_plan(
    project: Project, draft: Profile, diff: ProfileDiff, event: str, detail: dict[str, Any], *,
    base: int, source: tuple[str, int] | None = None,
) -> Change:
    """Write a plan's ``draft`` in one transaction, if nothing it was computed from moved (check-and-set).

    ``base`` is the version of ``draft.env`` the plan read; ``source``, another environment
    and the version the plan read of it (promote's SRC). Either having moved since refuses
    the write, with nothing changed.
    """
    changed = diff.names()
    with project.store.transaction() as txn:
        if source is not None and txn.current(source[0]).version != source[1]:
            raise _conflict(source[0])
        current = txn.current(draft.env)
        if current.version != base:
            raise _conflict(draft.env)
        keys = {**_key_ids(current, changed), **_key_ids(draft, changed)}
        profile, entry = txn.commit(draft, event, changed=changed, keys=keys, detail=detail)
    return Change(profile, entry)


def _summary(kind: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {**detail, "summary": kind}


# -- promote -----------------------------------------------------------------------

class Kept(Record):
    """A variable promote leaves alone in the destination, and why."""

    name: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


class PromotePlan(Record):
    """What ``promote SRC DST`` would write, computed without writing anything."""

    src: str
    dst: str
    src_version: int
    dst_version: int  # the destination version the plan is based on
    src_good: bool
    forced: bool
    diff: ProfileDiff  # DST now → DST after the promote
    kept: tuple[Kept, ...]
    findings: tuple[Finding, ...]  # `check` on the would-be DST
    draft: Profile

    @property
    def new_version(self) -> int:
        return self.dst_version + 1

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    def refusal(self) -> EnvmanError | None:
        """Why this plan must not be applied, or None."""
        if not self.src_good and not self.forced:
            return UsageError(
                f"{self.src}@{self.src_version} is not known good, so it is not promoted",
                f"verify it with `envman verify {self.src}` or attest it with `envman mark-good {self.src}`, or pass --force",
            )
        if self.errors:
            first = self.errors[0]
            more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            return UsageError(
                f"{self.dst} would fail `envman check`: {first.rule}: {first.message}{more}",
                f"{first.fix}; nothing was changed" if first.fix else "fix the findings above; nothing was changed",
            )
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": {"environment": self.src, "version": self.src_version, "known_good": self.src_good},
            "to": {"environment": self.dst, "version": self.dst_version, "new_version": self.new_version},
            "forced": self.forced,
            "changes": [v.as_dict() for v in self.diff.differences],
            "kept": [k.as_dict() for k in self.kept],
            "findings": [f.as_dict() for f in self.findings],
        }


def _keep_reason(project: Project, name: str, dst: str) -> str:
    spec = project.spec(name)
    if dst in spec.pin:
        return f"pinned: {dst} keeps its own value"
    if spec.promote_policy == "keep":
        return "secret: each environment keeps its own" if spec.secret else "promote = \"keep\" in envman.toml"
    return ""


def promoted(project: Project, src: Profile, dst: Profile, *, now: str) -> tuple[Profile, tuple[Kept, ...]]:
    """DST with SRC's promotable values (the schema's promote policy and pins decide), and what stayed."""
    draft = dst
    kept: list[Kept] = []
    for name in sorted({*src.names(), *dst.names()}):
        reason = _keep_reason(project, name, dst.env)
        if reason:
            kept.append(Kept(name, reason))
            continue
        if name in src.secrets:
            record = src.secrets[name]
            if name in dst.secrets and dst.secrets[name].fingerprint == record.fingerprint:
                continue
            # Ciphertext is bound to its environment: a moved secret is decrypted and sealed again.
            plaintext = project.reveal(src.env, name, record)
            draft = put_value(project, draft, name, plaintext.reveal(), now=now)
        elif name in src.values:
            values, secrets = dict(draft.values), dict(draft.secrets)
            values[name] = src.values[name]
            secrets.pop(name, None)
            draft = draft._replace(values=values, secrets=secrets)
        else:
            # gone from SRC: the removal moves too, so that DST ends up with SRC's set
            draft = draft._replace(
                values={k: v for k, v in draft.values.items() if k != name},
                secrets={k: v for k, v in draft.secrets.items() if k != name},
            )
    return draft, tuple(kept)


def _check_order(project: Project, src: str, dst: str, any_order: bool) -> None:
    order = project.manifest.environments
    if src == dst:
        raise UsageError(f"cannot promote {src} into itself", "name two different environments")
    if not any_order and order.index(src) > order.index(dst):
        raise UsageError(
            f"{src} comes after {dst} in the promotion order ({' → '.join(order)})",
            "promote along the order, or pass --any-order",
        )


def plan_promote(project: Project, src: str, dst: str, *, force: bool = False, any_order: bool = False) -> PromotePlan:
    """Compute the promotion of SRC's current version into DST (reads only)."""
    from envman.checks import run_checks

    project.manifest.require_env(src)
    project.manifest.require_env(dst)
    _check_order(project, src, dst, any_order)
    source, target = project.store.current(src), project.store.current(dst)
    if source.version == 0:
        raise NotFound(f"{src} has no values yet", f"import or set them first: `envman import FILE --env {src}`")
    draft, kept = promoted(project, source, target, now=_now())
    draft = draft._replace(version=target.version + 1)
    diff = diff_profiles(target, draft)
    # project-wide findings (env "") count too: a broken ledger must not be written on. Integrity is the
    # writers' quick check of both environments (the full chain walk, `check`'s, grows with the history)
    findings = tuple(run_checks(project, [dst], profiles={dst: draft}, integrity=(src, dst))) if not diff.empty else ()
    return PromotePlan(
        src=src, dst=dst, src_version=source.version, dst_version=target.version,
        src_good=source.version in good_versions(project, src), forced=force,
        diff=diff, kept=kept, findings=findings, draft=draft,
    )


def apply_promote(project: Project, plan: PromotePlan) -> Change:
    """Write a promote plan as DST's next version, if neither environment changed since it was made."""
    refusal = plan.refusal()
    if refusal is not None:
        raise refusal
    if plan.diff.empty:
        raise UsageError(f"{plan.dst} already has {plan.src}@{plan.src_version}'s promotable values", "nothing to promote")
    detail: dict[str, Any] = {
        "from_env": plan.src, "from_version": plan.src_version,
        "summary": f"promote {plan.src}@{plan.src_version} → {plan.dst}@{plan.new_version}",
    }
    if not plan.src_good:
        detail["forced"] = True
    return _commit_plan(project, plan.draft, plan.diff, "promote", detail, base=plan.dst_version, source=(plan.src, plan.src_version))


# -- rollback ----------------------------------------------------------------------

class RollbackPlan(Record):
    """What ``rollback ENV`` would write: version ``target_version``'s set as a new version."""

    env: str
    current_version: int
    target_version: int
    target_good: bool
    diff: ProfileDiff  # now → after the rollback
    draft: Profile

    @property
    def new_version(self) -> int:
        return self.current_version + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.env, "from_version": self.current_version, "to_version": self.target_version,
            "target_known_good": self.target_good, "new_version": self.new_version,
            "changes": [v.as_dict() for v in self.diff.differences],
        }


def restored(current: Profile, target: Profile) -> Profile:
    """``current`` holding ``target``'s values and ciphertexts byte for byte.

    Rotation facts (time, rollback value) travel with the values they describe;
    ownership (owner, rotation method and period, note) stays as recorded now,
    because who answers for a credential does not change when its value goes back.
    """
    meta = dict(target.meta)
    for name, now in current.meta.items():
        meta[name] = meta.get(name, VarMeta())._replace(**{k: getattr(now, k) for k in _OWNERSHIP})
    return current._replace(values=dict(target.values), secrets=dict(target.secrets),
        meta={k: m for k, m in meta.items() if m.as_dict()},
    )


def plan_rollback(project: Project, env: str, to: int | str | None = None) -> RollbackPlan:
    """Plan restoring ``to`` (a number, ``good``) or else the newest known-good version older than the current one."""
    project.manifest.require_env(env)
    current = project.store.current(env)
    good = good_versions(project, env)
    if to is None:
        older = [v for v in good if v < current.version]
        if not older:
            raise NotFound(
                f"{env} has no known-good version older than its current version {current.version}",
                f"attest one with `envman verify {env}` or `envman mark-good {env} --version N`, or name one with --to N",
            )
        target = project.store.version(env, older[-1])
    else:
        target = resolve_version(project, env, str(to))
    if target.version == current.version:
        raise UsageError(f"{env} is already at version {target.version}", "nothing to roll back; name an older version with --to N")
    draft = restored(current, target)
    rekeyed = project.store.head().key_changed_after(env, target.version)
    if rekeyed is not None:
        draft = _sealed_for_current_key(project, draft, target.version, rekeyed)
    diff = diff_profiles(current, draft)
    if diff.empty:
        raise UsageError(
            f"{env}@{current.version} already holds the values of version {target.version}",
            "nothing to roll back; name an older version with --to N",
        )
    return RollbackPlan(env, current.version, target.version, target.version in good, diff, draft._replace(version=current.version + 1))


def _sealed_for_current_key(project: Project, draft: Profile, target: int, rekeyed: int) -> Profile:
    """A restored ``draft`` whose secrets were sealed for a key pair `envman rekey` replaced: seal them for the current one."""
    from envman.keys import retired_var_name
    from envman.rekey import resealed

    env = draft.env
    try:
        return resealed(draft, project.decryptor(env), project.encryptor(env))[0]
    except RetiredKeyMissing:
        raise RetiredKeyMissing(
            f"version {target} of {env} is sealed for the key pair `envman rekey` replaced at version {rekeyed}, and no key here opens it",
            f"restoring it seals its secrets for the current key: give the retired key in {retired_var_name(env)}"
            " (or use the keychain `envman rekey` stored it in)",
        ) from None


def apply_rollback(project: Project, plan: RollbackPlan) -> Change:
    """Write a rollback plan as a new version, if the environment did not change since it was made."""
    detail: dict[str, Any] = {
        "from_version": plan.current_version, "to_version": plan.target_version,
        "summary": f"rollback {plan.env}@{plan.current_version} → version {plan.target_version}",
    }
    return _commit_plan(project, plan.draft, plan.diff, "rollback", detail, base=plan.current_version)


# -- mark-good ---------------------------------------------------------------------

class MarkGood(Record):
    """The attestation written by ``mark-good``."""

    entry: Entry
    again: bool  # the version was already known good


def mark_good(project: Project, env: str, version: int | str | None = None, *, note: str = "") -> MarkGood:
    """Attest a version of ``env`` (default: the current one) as known good in the ledger."""
    project.manifest.require_env(env)
    check_note("--note", note)
    with project.store.transaction() as txn:
        current = txn.current(env)
        if current.version == 0:
            raise NotFound(f"{env} has no versions yet", f"import or set values first: `envman import FILE --env {env}`")
        profile = current if version is None else resolve_version(project, env, str(version))
        again = profile.version in good_versions(project, env)
        detail = {"note": note} if note else {}
        entry = txn.record(
            "mark-good", env, profile.version, profile=profile.content_hash(),
            detail=_summary(f"{env}@{profile.version} known good" + (f": {note}" if note else ""), detail),
        )
    return MarkGood(entry, again)


# -- rotate ------------------------------------------------------------------------

def require_secret(project: Project, env: str, var: str) -> None:
    """Raise unless ``var`` is a secret of the schema and ``env`` exists."""
    project.manifest.require_env(env)
    check_var_name(var)
    if not project.spec(var).secret:
        raise UsageError(f"{var} is not a secret", f"rotation is for secrets; change it with `envman set {env} {var}`")


def _set_secret(txn: Transaction, env: str, var: str) -> tuple[Profile, SecretRecord]:
    """``env`` as the transaction reads it, and the ciphertext ``var`` holds there now."""
    current = txn.current(env)
    old = current.secrets.get(var)
    if old is None:
        raise NotFound(f"{var} is not set in {env}", f"set it first with `envman set {env} {var}`")
    return current, old


def rotate(project: Project, env: str, var: str, value: str, *, method: str = "") -> Change:
    """Replace a secret; the previous ciphertext becomes its rollback value and the rotation is recorded."""
    check_note("--method", method)
    require_secret(project, env, var)
    now = _now()
    with project.store.transaction() as txn:
        current, old = _set_secret(txn, env, var)
        draft = put_value(project, current, var, value, now=now)
        new = draft.secrets[var]
        if new.fingerprint == old.fingerprint:
            raise UsageError(f"the new value of {var} equals the current one in {env}", "a rotation needs a new secret")
        rollback = current.meta.get(var, VarMeta()).rollback
        if rollback is not None and new.fingerprint == rollback.fingerprint:
            raise UsageError(f"the new value of {var} is its rollback value in {env}", f"use `envman rotate {env} {var} --undo`")
        if method:
            draft = draft._replace(meta={**draft.meta, var: draft.meta[var]._replace(rotation_method=method)})
        meta = effective_meta(project, draft, var)
        from envman.credentials import due_date

        detail = {"method": meta.rotation_method, "replaced": old.masked, "next_due": due_date(now, meta.rotation_days)}
        text = f"rotated {var} ({meta.rotation_method or 'method not recorded'})"
        profile, entry = txn.commit(
            draft, "rotate", changed=[var], keys={var: new.masked},
            detail=_summary(text + (f", next due {detail['next_due']}" if detail["next_due"] else ""), detail),
        )
    return Change(profile, entry)


def undo_rotation(project: Project, env: str, var: str) -> Change:
    """Put a secret's rollback value back; the value it replaces becomes the new rollback value."""
    require_secret(project, env, var)
    now = _now()
    with project.store.transaction() as txn:
        current, old = _set_secret(txn, env, var)
        meta = current.meta.get(var, VarMeta())
        if meta.rollback is None:
            raise NotFound(f"{var} in {env} has no rollback value", "one is kept each time the secret is rotated or set again")
        # the rollback ciphertext was sealed for this same environment and variable: copy it as is
        draft = current._replace(secrets={**current.secrets, var: meta.rollback},
            meta={**current.meta, var: meta._replace(rollback=old, rotated_at=now)},
        )
        detail = {"undo": True, "restored": meta.rollback.masked, "replaced": old.masked}
        profile, entry = txn.commit(
            draft, "rotate", changed=[var], keys={var: meta.rollback.masked},
            detail=_summary(f"undo rotation of {var}: back to {meta.rollback.masked}", detail),
        )
    return Change(profile, entry)


# -- owner -------------------------------------------------------------------------

def owner_show(project: Project, env: str, var: str) -> Credential:
    """Who owns ``var`` in ``env`` and how it is rotated."""
    project.manifest.require_env(env)
    check_var_name(var)
    profile = project.store.current(env)
    _known(project, profile, var)
    from envman.credentials import credential

    return credential(project, profile, var)


def _known(project: Project, profile: Profile, var: str) -> None:
    if not profile.has(var) and var not in project.manifest.variables and var not in profile.meta:
        raise NotFound(f"{var} is neither set in {profile.env} nor in the schema", f"set it first with `envman set {profile.env} {var}`")


def set_owner(
    project: Project, env: str, var: str, *, owner: str | None = None, rotation_method: str | None = None,
    rotation_days: int | None = None, note: str | None = None,
) -> Change:
    """Record ownership and rotation facts of ``var`` in ``env`` as a new version (event ``owner``)."""
    project.manifest.require_env(env)
    check_var_name(var)
    fields: dict[str, Any] = {
        k: v for k, v in (("owner", owner), ("rotation_method", rotation_method), ("rotation_days", rotation_days), ("note", note))
        if v is not None
    }
    if not fields:
        raise UsageError("nothing to record", "give --owner, --rotation-method, --rotation-days or --note")
    if rotation_days is not None and rotation_days < 0:
        raise InvalidValue("--rotation-days must be 0 or more", "0 means no rotation period")
    for key, value in fields.items():
        if isinstance(value, str):
            check_note("--" + key.replace("_", "-"), value)
    for key, value in fields.items():
        if isinstance(value, str) and ("\n" in value or "\x00" in value):
            raise InvalidValue(f"{key} must be one line of text", "remove the line break")
    with project.store.transaction() as txn:
        current = txn.current(env)
        _known(project, current, var)
        before = current.meta.get(var, VarMeta())
        after = before._replace(**fields)
        if after == before:
            raise UsageError(f"{var} in {env} already has these records", "nothing to change")
        meta = {k: m for k, m in {**current.meta, var: after}.items() if m.as_dict()}
        text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in fields.items() if k != "note") or "note"
        profile, entry = txn.commit(
            current._replace(meta=meta), "owner", changed=[var], keys={}, detail=_summary(f"{var}: {text}", dict(fields)),
        )
    return Change(profile, entry)


# -- handoff -----------------------------------------------------------------------

class Event(Record):
    """A ledger entry reduced to what a hand-over note shows (names and masked ids only)."""

    seq: int
    time: str
    actor: str
    event: str
    version: int
    changed: tuple[str, ...]
    summary: str
    note: str = ""

    @classmethod
    def of(cls, entry: Entry) -> Event:
        summary, note = entry.detail.get("summary"), entry.detail.get("note")
        return cls(entry.seq, entry.time, entry.actor, entry.event, entry.version, entry.changed,
                   summary if isinstance(summary, str) else "", note if isinstance(note, str) else "")

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "actor": self.actor, "event": self.event, "version": self.version,
                "changed": list(self.changed), "summary": self.summary, "note": self.note}


class Verification(Record):
    """The newest ``verify`` ledger event of a version, as recorded (the probe masks keys)."""

    ok: bool
    time: str
    actor: str
    detail: dict[str, Any]

    def describe(self) -> str:
        """One line: passed/failed, plus the probe steps when the record has them."""
        words = ["passed" if self.ok else "failed", f"at {self.time} by {self.actor}"]
        steps = [s for s in self.detail.get("steps") or () if isinstance(s, dict)]
        models = {str(s["model"]) for s in steps if s.get("model")}
        if len(models) == 1:
            words.append(f"with model {models.pop()}")
        parts = [" ".join(str(s[k]) for k in ("step", "status", "latency") if s.get(k) not in (None, "")) for s in steps]
        if parts:
            words.append("(" + "; ".join(parts) + ")")
        summary = self.detail.get("summary")
        if not self.ok and isinstance(summary, str) and summary:
            words.append(f"— {summary}")
        return " ".join(words)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "time": self.time, "actor": self.actor, "detail": self.detail}


class Handoff(Record):
    """The short factual hand-over record of one environment (no plaintext anywhere)."""

    project: str
    env: str
    generated_at: str
    current_version: int
    current_event: Event | None
    current_verify: Verification | None
    last_good: int | None
    good_mark: Event | None  # the newest attestation of last_good
    good_verify: Verification | None
    differs_from_good: tuple[str, ...]
    credentials: tuple[Credential, ...]
    recent: tuple[Event, ...]

    @property
    def next_review(self) -> Credential | None:
        """The credential whose rotation falls due first."""
        due = [c for c in self.credentials if c.next_due]
        return min(due, key=lambda c: c.next_due) if due else None

    def as_dict(self) -> dict[str, Any]:
        review = self.next_review
        return {
            "project": self.project, "environment": self.env, "generated_at": self.generated_at,
            "current": {
                "version": self.current_version, "event": self.current_event.as_dict() if self.current_event else None,
                "verify": self.current_verify.as_dict() if self.current_verify else None,
            },
            "last_known_good": None if self.last_good is None else {
                "version": self.last_good, "marked": self.good_mark.as_dict() if self.good_mark else None,
                "verify": self.good_verify.as_dict() if self.good_verify else None,
                "differs_now": list(self.differs_from_good),
            },
            "next_review": None if review is None else {"date": review.next_due, "variable": review.name},
            "credentials": [c.as_dict() for c in self.credentials],
            "recent_events": [e.as_dict() for e in self.recent],
        }

    def to_markdown(self) -> str:
        """The record as Markdown, to paste into a ticket."""
        cur = f"version {self.current_version}"
        if self.current_event:
            e = self.current_event
            cur += f" ({e.event} at {e.time} by {_md(e.actor)})"
        lines = [f"# Hand-over: {_md(self.project)} / {self.env}", "", f"- Generated: {self.generated_at}", f"- Current: {cur}"]
        if self.current_verify and self.last_good != self.current_version:
            lines.append(f"- Current version's verify: {_md(self.current_verify.describe())}")
        if self.last_good is None:
            lines.append(f"- Last known good: none (run `envman verify {self.env}` or `envman mark-good {self.env}`)")
        else:
            how = ""
            if self.good_mark:
                how = f" ({self.good_mark.event} at {self.good_mark.time} by {_md(self.good_mark.actor)})"
            lines.append(f"- Last known good: version {self.last_good}{how}")
            verify = self.good_verify.describe() if self.good_verify else "no verify recorded for this version"
            lines.append(f"- Verify result: {_md(verify)}")
            if self.good_mark and self.good_mark.note:
                lines.append(f"- Attestation note: {_md(self.good_mark.note)}")
            if self.differs_from_good:
                lines.append(f"- Differs from last known good in: {', '.join(self.differs_from_good)}")
        review = self.next_review
        if review is None:
            lines.append("- Next review point: none recorded (no rotation period set)")
        else:
            lines.append(f"- Next review point: {review.next_due} ({review.name} rotation due{', overdue' if review.overdue else ''})")
        lines += ["", "## Credentials", ""]
        if self.credentials:
            lines.append("| Variable | Key | Owner | Rotation | Last rotated | Next due | Rollback value |")
            lines.append("|---|---|---|---|---|---|---|")
            for c in self.credentials:
                rotation = c.rotation_method or "—"
                if c.rotation_days:
                    rotation += f", every {c.rotation_days} d"
                due = (c.next_due + (" (overdue)" if c.overdue else "")) if c.next_due else "—"
                lines.append(
                    f"| {c.name} | {_md(c.shown)} | {_md(c.owner) or '—'} | {_md(rotation)} | {c.rotated_at[:10] or '—'} "
                    f"| {due} | {'recorded' if c.has_rollback else '—'} |"
                )
        else:
            lines.append("No secrets in this environment.")
        lines += ["", "## Recent events", ""]
        if self.recent:
            lines.append("| # | Time (UTC) | Actor | Event | Version | Changed |")
            lines.append("|---|---|---|---|---|---|")
            for e in self.recent:
                what = _md(e.summary or ", ".join(e.changed)) or "—"
                lines.append(f"| {e.seq} | {e.time} | {_md(e.actor)} | {e.event} | {e.version} | {what} |")
        else:
            lines.append("No events recorded.")
        return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell or list item."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _verification(entry: Entry) -> Verification:
    return Verification(entry.marks_good, entry.time, entry.actor, entry.detail)


def handoff(project: Project, env: str, *, recent: int = 10, now: datetime | None = None) -> Handoff:
    """Collect the hand-over record of ``env``: reads the ledger backwards only as far as needed."""
    from envman.credentials import credential
    from envman.ledger import VERSION_EVENTS

    project.manifest.require_env(env)
    if recent < 0:
        raise UsageError("the number of recent events must be 0 or more", "e.g. --events 10")
    now = now or datetime.now(UTC)
    current = project.store.current(env)
    good = good_versions(project, env)
    last_good = good[-1] if good else None
    events: list[Event] = []
    created: Event | None = None
    found: dict[str, Any] = {}  # "mark", "verify-good", "verify-current"
    # Nothing about version V precedes the entry that created it, so the walk stops there.
    stop_at = last_good if last_good is not None else current.version
    for entry in project.store.entries_newest_first():
        if entry.env != env:
            continue
        if len(events) < recent:
            events.append(Event.of(entry))
        if entry.seq == current.ledger_seq:
            created = Event.of(entry)
        if last_good is not None and entry.version == last_good:
            if entry.marks_good and "mark" not in found:
                found["mark"] = Event.of(entry)
            if entry.event == "verify" and "verify-good" not in found:
                found["verify-good"] = _verification(entry)
        if entry.event == "verify" and entry.version == current.version and "verify-current" not in found:
            found["verify-current"] = _verification(entry)
        past = entry.event in VERSION_EVENTS and entry.version <= stop_at
        if past and len(events) >= recent:
            break
    differs: tuple[str, ...] = ()
    if last_good is not None and last_good != current.version:
        differs = tuple(diff_profiles(project.store.version(env, last_good), current).names())
    secrets = sorted(current.secrets)
    return Handoff(
        project=project.manifest.project, env=env, generated_at=now.strftime(_TIME), current_version=current.version,
        current_event=created, current_verify=found.get("verify-current"), last_good=last_good,
        good_mark=found.get("mark"), good_verify=found.get("verify-good"), differs_from_good=differs,
        credentials=tuple(credential(project, current, v, now=now) for v in secrets), recent=tuple(events),
    )
