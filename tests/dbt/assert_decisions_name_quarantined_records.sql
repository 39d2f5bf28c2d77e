{{ config(severity='warn', group='data_quality') }}
{#-
    Every decision (lakehouse quarantine decide) names a quarantined record: a row returned is a
    decision on a (run_id, line_number) that is not in fct_quarantined_records (a run not built
    yet, or a mistyped key that the command could not check, as on S3, where it reads no
    warehouse). Such a decision changes nothing; it warns, as the decision files are never
    deleted.
-#}
with

decisions as (
    select
        decision_id,
        run_id,
        line_number,
        action,
        decided_by,
        file_name
    from {{ ref('stg_operations__quarantine_decisions') }}
),

quarantined as (
    select
        run_id,
        line_number
    from {{ ref('fct_quarantined_records') }}
),

final as (
    select
        decisions.decision_id,
        decisions.run_id,
        decisions.line_number,
        decisions.action,
        decisions.decided_by,
        decisions.file_name
    from decisions
    left join quarantined
        on
            decisions.run_id = quarantined.run_id
            and decisions.line_number = quarantined.line_number
    where quarantined.run_id is null
)

select * from final
