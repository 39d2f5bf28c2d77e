-- Reconciliation, per landed run: records in = processed + quarantined + exact duplicates.
-- Records are counted from the raw layer (staging), each outcome from its own model.
with

records_in as (
    select
        run_id,
        count(*) as records
    from {{ ref('stg_landing__transactions') }}
    group by run_id
),

processed as (
    select
        run_id,
        count(*) as records
    from {{ ref('fct_transactions') }}
    group by run_id
),

quarantined as (
    select
        run_id,
        count(*) as records
    from {{ ref('quarantine_transactions') }}
    group by run_id
),

duplicates as (
    select
        run_id,
        count(*) as records
    from {{ ref('int_transactions__classified') }}
    where record_status = 'duplicate'
    group by run_id
),

final as (
    select
        records_in.run_id,
        records_in.records as records_in,
        coalesce(processed.records, 0) as processed,
        coalesce(quarantined.records, 0) as quarantined,
        coalesce(duplicates.records, 0) as duplicates
    from records_in
    left join processed on records_in.run_id = processed.run_id
    left join quarantined on records_in.run_id = quarantined.run_id
    left join duplicates on records_in.run_id = duplicates.run_id
)

select * from final
where records_in != processed + quarantined + duplicates
