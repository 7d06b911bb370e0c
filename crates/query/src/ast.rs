//! The query model: OData query options as syntax trees, before any
//! knowledge of the schema. The planner resolves names against metadata.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    /// An integer literal (`42`, `-7`).
    Int(i64),
    /// A literal with a fraction (`12.50`, `1.5M`); exact.
    Decimal(Decimal),
    /// A literal with an exponent (`1e3`), `INF`, `NaN` are rejected.
    Double(f64),
    String(String),
    Guid(Uuid),
    DateTime(DateTime<Utc>),
    Date(NaiveDate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaKind {
    Any,
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    /// A property path: `name`, `_parentcustomerid_value`,
    /// `primarycontactid/fullname`, or inside a lambda `o/fullname`
    /// (the first segment is then the lambda variable).
    Property(Vec<String>),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Not(Box<Expr>),
    /// Unary minus applied to a non-literal.
    Neg(Box<Expr>),
    /// `expr in (a, b, c)` (OData 4.01).
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
    },
    /// A canonical function: `contains(name,'x')`, `year(createdon)`,
    /// `tolower(name)`, `now()`… Name as written, lower-cased.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// A Dataverse query function:
    /// `Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['a','b'])`.
    /// `name` is the part after the namespace (`In`, `LastXDays`…), as written;
    /// parameters keep their order.
    CrmFunction {
        name: String,
        params: Vec<(String, FunctionArg)>,
    },
    /// `nav/any(o:o/name eq 'x')`, `nav/any()`, `nav/all(o:…)`.
    Lambda {
        path: Vec<String>,
        kind: LambdaKind,
        var: Option<String>,
        body: Option<Box<Expr>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum FunctionArg {
    Literal(Literal),
    /// `['a','b']` or `["1","5"]`.
    List(Vec<Literal>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub path: Vec<String>,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpandItem {
    pub nav: String,
    pub options: QueryOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateMethod {
    Sum,
    Min,
    Max,
    Average,
    CountDistinct,
    /// `$count as alias` (count of rows).
    Count,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// Property path aggregated; empty for `$count`.
    pub path: Vec<String>,
    pub method: AggregateMethod,
    pub alias: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Transformation {
    Filter(Expr),
    /// `groupby((a,b))` or `groupby((a,b),aggregate(…))`.
    GroupBy {
        paths: Vec<Vec<String>>,
        aggregates: Vec<Aggregate>,
    },
    Aggregate(Vec<Aggregate>),
}

/// Everything a query string can say. `None`/empty means "not given".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryOptions {
    pub select: Option<Vec<String>>,
    pub filter: Option<Expr>,
    pub orderby: Vec<OrderBy>,
    pub top: Option<u64>,
    pub skip: Option<u64>,
    pub count: bool,
    pub expand: Vec<ExpandItem>,
    pub apply: Vec<Transformation>,
    /// Opaque paging cookie from an `@odata.nextLink`.
    pub skiptoken: Option<String>,
}
