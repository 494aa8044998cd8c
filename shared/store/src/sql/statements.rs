//! Statements built at run time for the `Any` driver, which binds no
//! arrays: multi-row inserts in chunks, `IN` lists, and placeholders in the
//! dialect of the database (`$N` on PostgreSQL, `?` on SQLite).

use crate::{SqlModelStore, StoreError};
use sqlx::any::AnyArguments;
use sqlx::{Any, AssertSqlSafe, Transaction};
use std::fmt::Write;

/// Rows per multi-row statement: with up to 9 parameters each, far below
/// the parameter limits of PostgreSQL (65,535) and SQLite (32,766).
const ROWS_PER_STATEMENT: usize = 1000;

/// A query of the `Any` driver, with its parameters bound so far.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

/// An insert (or upsert) of many rows: `head`, the rows' tuples of
/// `columns` parameters, then `tail`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowsStatement<'a> {
    pub(crate) head: &'a str,
    pub(crate) columns: usize,
    pub(crate) tail: &'a str,
}

impl SqlModelStore {
    /// Runs `statement` over `rows` in `tx`, at most [`ROWS_PER_STATEMENT`]
    /// rows a statement, `bind` binding one row's parameters in column order.
    pub(crate) async fn insert_rows<T>(
        &self,
        tx: &mut Transaction<'_, Any>,
        statement: RowsStatement<'_>,
        rows: &[T],
        bind: impl for<'q> Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let sql = self.multi_row_insert(statement.head, statement.columns, chunk.len(), statement.tail);
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for row in chunk {
                query = bind(query, row);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// `head` followed by `rows` tuples of `columns` parameters, then `tail`.
    fn multi_row_insert(&self, head: &str, columns: usize, rows: usize, tail: &str) -> String {
        let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 6);
        sql.push_str(head);
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for column in 0..columns {
                sql.push_str(if column == 0 { "" } else { ", " });
                self.push_placeholder(&mut sql, row * columns + column + 1);
            }
            sql.push(')');
        }
        sql.push_str(tail);
        sql
    }

    /// `(p1, p2, ..., pN)` for `count` parameters from number 1: the list
    /// of a `WHERE column IN` (the `Any` driver binds no arrays).
    pub(crate) fn in_list(&self, count: usize) -> String {
        let mut sql = String::with_capacity(count * 6 + 2);
        sql.push('(');
        for number in 1..=count {
            sql.push_str(if number == 1 { "" } else { ", " });
            self.push_placeholder(&mut sql, number);
        }
        sql.push(')');
        sql
    }

    /// Appends ` AND {condition} <parameter>` for each condition that is
    /// present (e.g. `(from.is_some(), "ts >=")`), numbering the parameters
    /// after `bound` already in `sql`; the caller binds them in that order.
    pub(crate) fn push_conditions(&self, sql: &mut String, mut bound: usize, conditions: &[(bool, &str)]) {
        for (present, condition) in conditions {
            if *present {
                bound += 1;
                let _ = write!(sql, " AND {condition} ");
                self.push_placeholder(sql, bound);
            }
        }
    }

    /// Appends parameter `number` (1-based): `$N`, or `?` on SQLite.
    pub(crate) fn push_placeholder(&self, sql: &mut String, number: usize) {
        if self.backend == "sqlite" {
            sql.push('?');
        } else {
            let _ = write!(sql, "${number}");
        }
    }
}

/// An optional number as bound: NaN for none. sqlx's `Any` driver binds a
/// missing `f64` as a PostgreSQL `float4` NULL; a statement prepared with
/// that type (and cached) then refuses the next real `f64` in the same place
/// ("incorrect binary data format"). PostgreSQL stores the NaN, SQLite a NULL.
pub(crate) fn optional_f64(value: Option<f64>) -> f64 {
    value.unwrap_or(f64::NAN)
}

/// An optional number as [`optional_f64`] stored it.
pub(crate) fn read_optional_f64(stored: Option<f64>) -> Option<f64> {
    stored.filter(|value| !value.is_nan())
}
