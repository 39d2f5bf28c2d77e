{#-
    The fate of every record, decided once: accepted, duplicate (an exact re-delivery) or
    quarantined. The first-landed valid version of a TransactionID wins; a later version with the
    same content is a duplicate; a later version with other content (or a later invalid row with
    that id) fails DUPLICATE_CONFLICT. Incremental: each build classifies the runs landed since.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    table_type='iceberg',
    partitioned_by=['ingest_date'],
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}

{%- set new_runs = new_runs_only(landed_column='landed_at') %}
{%- set version_columns =
    'transaction_id, account_id, amount, currency, transaction_ts, run_id, line_number' %}

-- Each CTE reads the new runs' records itself: a shared CTE would be materialised whole (tens of
-- GB of spill at 100M rows); only contested ids (about 1 %) need the duplicate rules.
with

-- records without an id leave as the group that counts none (a filter on the id would be pushed
-- below the view's projections and derive every id twice)
batch_ids as (
    select
        transaction_id,
        count(transaction_id) as records
    from {{ ref('int_transactions__validated') }}
    where {{ new_runs }}
    group by transaction_id
    having count(transaction_id) > 0
),

-- the accepted versions of the batch's ids, read for those ids alone
accepted_history as (
    {{ history_rows_with_ids(
        this, version_columns, 'transaction_id', 'batch_ids', "record_status = 'accepted'",
        first_build_from=ref('int_transactions__validated'),
    ) }}
),

-- ids that occur more than once in the batch or were accepted before; every other record is
-- its id's only version
contested_ids as (
    select batch_ids.transaction_id
    from batch_ids
    where batch_ids.records > 1
    union
    select accepted_history.transaction_id
    from accepted_history
),

contested as (
    select *
    from {{ ref('int_transactions__validated') }}
    where
        {{ new_runs }}
        and transaction_id in (select contested_ids.transaction_id from contested_ids)
),

uncontested as (
    select
        *,
        validation_error is null as is_winner,
        false as follows_accepted_version,
        false as has_same_content,
        cast(null as varchar) as winner_run_id,
        cast(null as bigint) as winner_line_number,
        false as has_duplicate_conflict
    from {{ ref('int_transactions__validated') }}
    where
        {{ new_runs }}
        and (
            transaction_id is null
            or transaction_id not in (select contested_ids.transaction_id from contested_ids)
        )
),

-- an accepted version always comes from an earlier run than the batch's, so the first valid
-- version in (run, line) order is the winner: the accepted one, else the batch's first
valid_versions as (
    select {{ version_columns }} from accepted_history
    union all
    select {{ version_columns }} from contested
    where validation_error is null
),

versions as (
    select
        *,
        row_number() over (partition by transaction_id order by run_id, line_number) as version_rank
    from valid_versions
),

compared as (
    select
        contested.*,
        coalesce(
            versions.run_id = contested.run_id and versions.line_number = contested.line_number,
            false
        ) as is_winner,
        coalesce(
            versions.run_id < contested.run_id
            or (
                versions.run_id = contested.run_id
                and versions.line_number < contested.line_number
            ),
            false
        ) as follows_accepted_version,
        coalesce(
            versions.account_id = contested.account_id
            and versions.amount = contested.amount
            and versions.currency = contested.currency
            and versions.transaction_ts = contested.transaction_ts,
            false
        ) as has_same_content,
        versions.run_id as winner_run_id,
        versions.line_number as winner_line_number
    from contested
    left join versions
        on contested.transaction_id = versions.transaction_id and versions.version_rank = 1
),

flagged as (
    select
        *,
        follows_accepted_version
        and not (validation_error is null and has_same_content) as has_duplicate_conflict
    from compared
    union all
    select * from uncontested
),

statuses as (
    select
        *,
        {{ validation_error() }} as full_validation_error,
        {{ validation_detail(['DUPLICATE_CONFLICT'], prefix='validation_detail') }}
            as full_validation_detail,
        case
            when validation_error is null and is_winner then 'accepted'
            when validation_error is null and not has_duplicate_conflict then 'duplicate'
            else 'quarantined'
        end as record_status
    from flagged
),

-- values as received are kept for quarantined records only (the raw file keeps them all)
final as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        source_line_count,
        landed_at,
        case when record_status = 'quarantined' then record_text end as record_text,
        case when record_status = 'quarantined' then record_length end as record_length,
        {%- for column in transaction_file_columns() %}
        case when record_status = 'quarantined' then {{ column.column }}_raw end
            as {{ column.column }}_raw,
        {%- endfor %}
        transaction_id,
        account_id,
        amount,
        currency,
        transaction_ts,
        {%- for column in transaction_file_columns() if not column.required %}
        {{ column.column }},
        {%- endfor %}
        full_validation_error as validation_error,
        full_validation_detail as validation_detail,
        record_status,
        {{ build_started_at() }} as classified_at
    from statuses
)

select * from final
