{#-
    The versions of each account-month follow one another without gap or overlap: each one ends
    at the run that begins the next (known_until_run_id = the next known_from_run_id, and the
    same for the moments), and only the last one is open (current).
-#}
with

versions as (
    select
        account_id,
        currency,
        month,
        known_from_run_id,
        known_until_run_id,
        known_until,
        lead(known_from_run_id) over (
            partition by account_id, currency, month order by known_from_run_id
        ) as next_from_run_id,
        lead(known_from) over (
            partition by account_id, currency, month order by known_from_run_id
        ) as next_from
    from {{ ref('fct_month_end_balance_history') }}
),

final as (
    select *
    from versions
    where
        known_until_run_id is distinct from next_from_run_id
        or known_until is distinct from next_from
)

select * from final
