{#-
    The fate of every record, decided once: accepted, duplicate (an exact re-delivery) or
    quarantined. Duplicate rules need history, so this is where they live: the first-landed valid
    version of a TransactionID wins; a later version with the same content is a duplicate; a later
    version with different content (or a later invalid row with that id) fails DUPLICATE_CONFLICT.
    Incremental: each build classifies only the runs landed since the last build.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    table_type='iceberg',
    partitioned_by=['ingest_date'],
    post_hook=["{{ iceberg_housekeeping(this) }}"],
) }}

with

batch as (
    select *
    from {{ ref('stg_landing__transactions') }}
    where {{ new_runs_only() }}
),

accepted_history as (
    select
        transaction_id,
        account_id,
        amount,
        currency,
        transaction_ts,
        run_id,
        line_number
    {% if is_incremental() -%}
    from {{ this }}
    where
        record_status = 'accepted'
        and transaction_id in (select batch.transaction_id from batch)
    {%- else -%}
    from batch
    where 1 = 0
    {%- endif %}
),

valid_versions as (
    select
        transaction_id,
        account_id,
        amount,
        currency,
        transaction_ts,
        run_id,
        line_number,
        row_number() over (
            partition by transaction_id
            order by run_id, line_number
        ) as version_rank
    from batch
    where validation_error is null
),

first_new_versions as (
    select
        valid_versions.transaction_id,
        valid_versions.account_id,
        valid_versions.amount,
        valid_versions.currency,
        valid_versions.transaction_ts,
        valid_versions.run_id,
        valid_versions.line_number
    from valid_versions
    left join accepted_history
        on valid_versions.transaction_id = accepted_history.transaction_id
    where valid_versions.version_rank = 1 and accepted_history.transaction_id is null
),

winners as (
    select * from accepted_history
    union all
    select * from first_new_versions
),

compared as (
    select
        batch.*,
        coalesce(
            winners.run_id = batch.run_id and winners.line_number = batch.line_number, false
        ) as is_winner,
        coalesce(
            winners.run_id < batch.run_id
            or (winners.run_id = batch.run_id and winners.line_number < batch.line_number),
            false
        ) as follows_accepted_version,
        coalesce(
            winners.account_id = batch.account_id
            and winners.amount = batch.amount
            and winners.currency = batch.currency
            and winners.transaction_ts = batch.transaction_ts,
            false
        ) as has_same_content
    from batch
    left join winners on batch.transaction_id = winners.transaction_id
),

flagged as (
    select
        *,
        follows_accepted_version
        and not (validation_error is null and has_same_content) as has_duplicate_conflict
    from compared
),

final as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        landed_at,
        record_text,
        transaction_id_raw,
        customer_id_raw,
        transaction_amount_raw,
        currency_raw,
        transaction_timestamp_raw,
        transaction_id,
        account_id,
        amount,
        currency,
        transaction_ts,
        {{ validation_error() }} as validation_error,
        case
            when validation_error is null and is_winner then 'accepted'
            when validation_error is null and not has_duplicate_conflict then 'duplicate'
            else 'quarantined'
        end as record_status
    from flagged
)

select * from final
