-- The case's Task 3: month-end balance per account for January to March 2024, in the case's
-- output shape (Acct, month, balance). The case's table is
-- transactions(id, account_id, amount, new_balance, tx_date); new_balance is rebuilt here as the
-- running sum of amounts ordered by (transaction time, id), so the query reads like the case's.
-- The case's "balance" is the balance as of the month's end, carried forward from earlier months
-- and NULL while the account has no history yet (fct_month_end_balances.closing_balance).
-- Run it with: dbt compile -s task3_month_end_balances, then the SQL in target/compiled/.

with

transactions as (
    select
        transaction_id as id,
        account_id,
        amount,
        transaction_ts as tx_date,
        sum(amount) over (
            partition by account_id, currency
            order by transaction_ts, transaction_id
            rows between unbounded preceding and current row
        ) as new_balance
    from {{ ref('fct_transactions') }}
    where currency = 'EUR'
),

months as (
    select
        cast('2024-01-01' as date) as month_start,
        cast('2024-02-01' as date) as next_month_start
    union all
    select
        cast('2024-02-01' as date) as month_start,
        cast('2024-03-01' as date) as next_month_start
    union all
    select
        cast('2024-03-01' as date) as month_start,
        cast('2024-04-01' as date) as next_month_start
),

accounts as (
    select distinct account_id
    from transactions
),

-- for every account and month, its transactions up to the month's end, latest first
history_by_month as (
    select
        accounts.account_id,
        transactions.new_balance,
        substr(cast(months.month_start as varchar), 1, 7) as month,
        row_number() over (
            partition by accounts.account_id, months.month_start
            order by transactions.tx_date desc, transactions.id desc
        ) as recency
    from accounts
    cross join months
    left join transactions
        on
            accounts.account_id = transactions.account_id
            and months.next_month_start > transactions.tx_date
),

final as (
    select
        account_id as acct,
        month,
        new_balance as balance
    from history_by_month
    where recency = 1
)

select * from final
order by acct, month
