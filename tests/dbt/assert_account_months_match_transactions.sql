{#-
    The incremental account-month sums against the transactions they were added from: per
    currency, the same count and the same total. Reads one pass of fct_transactions' amount and
    currency columns (no per-row join), so it stays cheap as the history grows.
-#}
with

transactions as (
    select
        currency,
        count(*) as tx_count,
        sum(amount) as net_amount
    from {{ ref('fct_transactions') }}
    group by currency
),

account_months as (
    select
        currency,
        sum(tx_count) as tx_count,
        sum(net_amount) as net_amount
    from {{ ref('int_transactions__summed_to_account_months') }}
    group by currency
),

final as (
    select
        transactions.tx_count as transaction_count,
        account_months.tx_count as summed_transaction_count,
        transactions.net_amount as total_amount,
        account_months.net_amount as summed_amount,
        coalesce(transactions.currency, account_months.currency) as currency
    from transactions
    full outer join account_months on transactions.currency = account_months.currency
    where
        transactions.currency is null
        or account_months.currency is null
        or transactions.tx_count <> account_months.tx_count
        or transactions.net_amount <> account_months.net_amount
)

select * from final
