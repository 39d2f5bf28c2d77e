{#- One row per decision file an operator wrote (lakehouse quarantine decide), trimmed and
    typed. A value the command would not write (a line number that is not a number, a time
    that is not one) is NULL here; int_quarantine__latest_decisions uses only complete rows and
    the warn-severity tests name the others. -#}
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
        reason,
        file_name
    from {{ source('operations', 'quarantine_decisions') }}
),

trimmed as (
    select
        file_name,
        nullif(trim(decision_id), '') as decision_id,
        nullif(trim(run_id), '') as run_id,
        nullif(trim(line_number), '') as line_number_text,
        lower(nullif(trim(action), '')) as action,
        nullif(trim(owner), '') as owner,
        nullif(trim(decided_by), '') as decided_by,
        nullif(trim(decided_at), '') as decided_at_text,
        nullif(trim(reason), '') as reason
    from decisions
),

-- the command writes YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC)
final as (
    select
        cast(decision_id as varchar) as decision_id,
        cast(run_id as varchar) as run_id,
        try_cast(line_number_text as bigint) as line_number,
        cast(action as varchar) as action,
        cast(owner as varchar) as owner,
        cast(decided_by as varchar) as decided_by,
        {{ try_cast_timestamp("replace(substr(decided_at_text, 1, 26), 'T', ' ')") }}
            as decided_at,
        cast(reason as varchar) as reason,
        cast(file_name as varchar) as file_name
    from trimmed
)

select * from final
