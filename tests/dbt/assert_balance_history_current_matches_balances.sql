{#-
    The current versions of the balance history (known_until_run_id NULL) against the
    month-end balances, computed another way (from the account-month sums): every month of the
    window with transactions has one current version with the same balance and count, and
    every current version of a month in the window is such a month.
-#}
with

balances as (
    select
        account_id,
        currency,
        month,
        balance,
        tx_count
    from {{ ref('fct_month_end_balances') }}
    where tx_count > 0
),

window_months as (
    select
        min(month) as start_month,
        max(month) as end_month
    from {{ ref('fct_month_end_balances') }}
),

current_versions as (
    select
        history.account_id,
        history.currency,
        history.month,
        history.balance,
        history.tx_count
    from {{ ref('fct_month_end_balance_history') }} as history
    cross join window_months
    where
        history.known_until_run_id is null
        and history.month between window_months.start_month and window_months.end_month
),

final as (
    select
        balances.balance,
        balances.tx_count,
        current_versions.balance as history_balance,
        current_versions.tx_count as history_tx_count,
        coalesce(balances.account_id, current_versions.account_id) as account_id,
        coalesce(balances.currency, current_versions.currency) as currency,
        coalesce(balances.month, current_versions.month) as month
    from balances
    full outer join current_versions
        on
            balances.account_id = current_versions.account_id
            and balances.currency = current_versions.currency
            and balances.month = current_versions.month
    where
        balances.account_id is null
        or current_versions.account_id is null
        or balances.balance <> current_versions.balance
        or balances.tx_count <> current_versions.tx_count
)

select * from final
