{#-
    Per quarantined record (run_id, line_number) that has decisions: the latest status decision
    (condemn, waive or reopen; latest decided_at, then decision_id), the latest assignment of an
    owner, and how many decisions there are. Only complete decisions count (a known action, a
    line number, a time); the staging tests warn about the others. Decisions are append-only,
    so a new one always changes decision_count: fct_quarantine_lifecycle recomputes the
    records whose count moved.
-#}
{{ config(materialized='view') }}

with

decisions as (
    select
        decision_id,
        run_id,
        line_number,
        action,
        owner,
        decided_by,
        decided_at,
        reason
    from {{ ref('stg_operations__quarantine_decisions') }}
    where
        action in ('condemn', 'waive', 'reopen', 'assign')
        and run_id is not null
        and line_number is not null
        and decided_at is not null
        and (action <> 'assign' or owner is not null)
),

ranked as (
    select
        *,
        row_number() over (
            partition by run_id, line_number, action = 'assign'
            order by decided_at desc, decision_id desc
        ) as recency
    from decisions
),

counted as (
    select
        run_id,
        line_number,
        count(*) as decision_count
    from decisions
    group by run_id, line_number
),

final as (
    select
        counted.run_id,
        counted.line_number,
        cast(counted.decision_count as bigint) as decision_count,
        status_decisions.action as decision,
        status_decisions.decision_id,
        status_decisions.decided_by,
        status_decisions.decided_at,
        status_decisions.reason as decision_reason,
        assignments.owner,
        assignments.decided_by as owner_assigned_by,
        assignments.decided_at as owner_assigned_at
    from counted
    left join ranked as status_decisions
        on
            counted.run_id = status_decisions.run_id
            and counted.line_number = status_decisions.line_number
            and status_decisions.action <> 'assign'
            and status_decisions.recency = 1
    left join ranked as assignments
        on
            counted.run_id = assignments.run_id
            and counted.line_number = assignments.line_number
            and assignments.action = 'assign'
            and assignments.recency = 1
)

select * from final
