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
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}

{%- set new_runs = new_runs_only(landed_column='landed_at') %}

-- The new runs' records are read from staging by each CTE that needs them rather than through one
-- shared CTE, which the engine would materialise whole (at 100M rows, tens of GB of spill):
-- the id counts need one column, only contested ids (about 1 %) need the rules below.
with

-- records without an id leave as the group that counts none: a filter on the id would be pushed
-- below the view's projections and derive every id twice (1 s of 5 at 10M rows)
batch_ids as (
    select
        transaction_id,
        count(transaction_id) as records
    from {{ ref('int_transactions__validated') }}
    where {{ new_runs }}
    group by transaction_id
    having count(transaction_id) > 0
),

{% if is_incremental() -%}
-- the batch's ids among the accepted history, from the id column alone; an `in` in the select
-- list always builds its hash table on the batch's ids (as a filter, the engine may build it on
-- the whole history when the row estimates are close: 2.6 s instead of 0.2 s at 10M rows)
history_ids as (
    select
        transaction_id,
        transaction_id in (select batch_ids.transaction_id from batch_ids) as is_batch_id
    from {{ this }}
    where record_status = 'accepted'
),

{% endif -%}
-- the accepted versions of those ids, every column read for them alone (reading every column of
-- the history for every batch cost 21 s of CPU at 100M rows)
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
        and transaction_id in (
            select history_ids.transaction_id
            from history_ids
            where history_ids.is_batch_id
        )
    {%- else -%}
    from {{ ref('int_transactions__validated') }}
    where 1 = 0
    {%- endif %}
),

-- the duplicate rules only concern ids that occur more than once in the batch or were accepted
-- before; every other record is its id's only version
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
        false as has_duplicate_conflict
    from {{ ref('int_transactions__validated') }}
    where
        {{ new_runs }}
        and (
            transaction_id is null
            or transaction_id not in (select contested_ids.transaction_id from contested_ids)
        )
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
    from contested
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
        contested.*,
        coalesce(
            winners.run_id = contested.run_id and winners.line_number = contested.line_number,
            false
        ) as is_winner,
        coalesce(
            winners.run_id < contested.run_id
            or (
                winners.run_id = contested.run_id
                and winners.line_number < contested.line_number
            ),
            false
        ) as follows_accepted_version,
        coalesce(
            winners.account_id = contested.account_id
            and winners.amount = contested.amount
            and winners.currency = contested.currency
            and winners.transaction_ts = contested.transaction_ts,
            false
        ) as has_same_content
    from contested
    left join winners on contested.transaction_id = winners.transaction_id
),

contested_flagged as (
    select
        *,
        follows_accepted_version
        and not (validation_error is null and has_same_content) as has_duplicate_conflict
    from compared
),

flagged as (
    select * from contested_flagged
    union all
    select * from uncontested
),

statuses as (
    select
        *,
        {{ validation_error() }} as full_validation_error,
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
        case
            when record_status = 'quarantined' then {{ column.column }}_raw
        end as {{ column.column }}_raw,
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
        record_status,
        {{ build_started_at() }} as classified_at
    from statuses
)

select * from final
