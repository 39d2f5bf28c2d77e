{#-
    The lifecycle of every quarantined record: its status, since when, what resolved it and the
    latest decision on it. Status, in order of precedence:
      resolved   a later delivery brought an accepted version of its TransactionID (a fact,
                 computed by the build: int_quarantine__resolved_by_delivery)
      condemned  latest decision condemn: it will never be fixed
      waived     latest decision waive: closed without a fix, the finding accepted as it is
                 (the record stays out of the marts)
      open       latest decision reopen, or no decision
    Incremental merge on (run_id, line_number), scoped to the records whose row can have
    changed: those of runs quarantined since the last build, those with a resolution since,
    those whose number of decisions moved (decisions are append-only, so a new one always moves
    it, whatever its clock said), and unassigned rows whose default owner (var
    quarantine_default_owner) changed.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['run_id', 'line_number'],
    on_schema_change='append_new_columns',
    table_type='iceberg',
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}

{%- set default_owner = quarantine_default_owner() %}

with

quarantined as (
    select
        run_id,
        line_number,
        ingest_date,
        source_file,
        transaction_id_raw,
        validation_error
    from {{ ref('fct_quarantined_records') }}
),

resolutions as (
    select
        run_id,
        line_number,
        resolved_by_run_id,
        resolved_by_source_file,
        resolved_by_line_number,
        resolved_at
    from {{ ref('int_quarantine__resolved_by_delivery') }}
),

decisions as (
    select
        run_id,
        line_number,
        decision_count,
        decision,
        decided_by,
        decided_at,
        decision_reason,
        owner,
        owner_assigned_by,
        owner_assigned_at
    from {{ ref('int_quarantine__latest_decisions') }}
),

{% if is_incremental() -%}
held as (
    select
        run_id,
        line_number,
        decision_count,
        owner,
        owner_assigned_at
    from {{ this }}
),

-- the records whose row can have changed since the last build
scope as (
    select
        quarantined.run_id,
        quarantined.line_number
    from quarantined
    where {{ new_runs_only(column='quarantined.run_id') }}
    union
    select
        resolutions.run_id,
        resolutions.line_number
    from resolutions
    where
        {{ new_runs_only(
            column='resolutions.resolved_by_run_id', processed_column='resolved_by_run_id'
        ) }}
    union
    select
        decisions.run_id,
        decisions.line_number
    from decisions
    left join held
        on
            decisions.run_id = held.run_id
            and decisions.line_number = held.line_number
    where coalesce(held.decision_count, 0) <> decisions.decision_count
    union
    select
        held.run_id,
        held.line_number
    from held
    where held.owner_assigned_at is null and held.owner <> {{ default_owner }}
),

{% endif -%}
combined as (
    select
        quarantined.run_id,
        quarantined.line_number,
        quarantined.ingest_date,
        quarantined.source_file,
        quarantined.transaction_id_raw,
        quarantined.validation_error,
        resolutions.resolved_by_run_id,
        resolutions.resolved_by_source_file,
        resolutions.resolved_by_line_number,
        resolutions.resolved_at,
        decisions.decision,
        decisions.decided_by,
        decisions.decided_at,
        decisions.decision_reason,
        decisions.owner,
        decisions.owner_assigned_by,
        decisions.owner_assigned_at,
        decisions.decision_count,
        {{ run_landed_at('quarantined.run_id') }} as landed_at
    from quarantined
    {% if is_incremental() -%}
        inner join scope
            on
                quarantined.run_id = scope.run_id
                and quarantined.line_number = scope.line_number
    {% endif -%}
    left join resolutions
        on
            quarantined.run_id = resolutions.run_id
            and quarantined.line_number = resolutions.line_number
    left join decisions
        on
            quarantined.run_id = decisions.run_id
            and quarantined.line_number = decisions.line_number
),

statuses as (
    select
        *,
        case
            when resolved_by_run_id is not null then 'resolved'
            when decision = 'condemn' then 'condemned'
            when decision = 'waive' then 'waived'
            else 'open'
        end as status
    from combined
),

final as (
    select
        cast(run_id as varchar) as run_id,
        cast(line_number as bigint) as line_number,
        cast(ingest_date as date) as ingest_date,
        cast(source_file as varchar) as source_file,
        cast(landed_at as {{ timestamp_type() }}) as landed_at,
        cast(transaction_id_raw as varchar) as transaction_id_raw,
        cast(validation_error as varchar) as validation_error,
        cast(status as varchar) as status,
        cast(
            case
                when status = 'resolved' then resolved_at
                when decision is not null then decided_at
                else landed_at
            end
            as {{ timestamp_type() }}
        ) as status_since,
        cast(resolved_by_run_id as varchar) as resolved_by_run_id,
        cast(resolved_by_source_file as varchar) as resolved_by_source_file,
        cast(resolved_by_line_number as bigint) as resolved_by_line_number,
        cast(resolved_at as {{ timestamp_type() }}) as resolved_at,
        cast(decision as varchar) as decision,
        cast(decided_by as varchar) as decided_by,
        cast(decided_at as {{ timestamp_type() }}) as decided_at,
        cast(decision_reason as varchar) as decision_reason,
        cast(coalesce(owner, {{ default_owner }}) as varchar) as owner,
        cast(owner_assigned_by as varchar) as owner_assigned_by,
        cast(owner_assigned_at as {{ timestamp_type() }}) as owner_assigned_at,
        cast(coalesce(decision_count, 0) as bigint) as decision_count,
        {{ build_started_at() }} as built_at
    from statuses
)

select * from final
