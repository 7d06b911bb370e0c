//! What a module shows beyond its records' lists and forms, declared as
//! data the UI draws: a board of an entity's records by process stage
//! (the sales pipeline), and a dashboard of charts over its records (the
//! sales dashboard). Figures come from the engine's aggregates as the
//! user, so they count only what the user may read.

/// A board: the open records of an entity as cards in columns, one per
/// stage of the entity's active business process flow (`stageid`), with
/// each column's count, total and weighted total. Moving a card sets the
/// record's stage through the engine, as any update.
#[derive(Debug, Clone)]
pub struct Board {
    /// The page is `/ui/<path>` (`pipeline`).
    pub path: &'static str,
    pub entity: &'static str,
    pub title: (&'static str, &'static str),
    /// The records on the board (an OData `$filter`).
    pub filter: &'static str,
    /// The link to the user's own records on it.
    pub mine: (&'static str, &'static str),
    /// The card's amount: a money column (its `_base` twin is totalled).
    pub amount: &'static str,
    /// The percentage that weighs the amount (`closeprobability`).
    pub weight: Option<&'static str>,
    /// A lookup whose name is the card's second line (`customerid`).
    pub subtitle: Option<&'static str>,
    /// The chart under the board: its title and description.
    pub chart: (&'static str, &'static str),
    pub chart_description: (&'static str, &'static str),
}

/// How a chart's bars are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartGroup {
    /// One bar per stage of the entity's active process (`stageid`), in
    /// the process's order.
    Stage,
    /// One bar per value of a column (an option set), largest first.
    Column(&'static str),
    /// One bar per calendar month of a date column, the last `n` months.
    Months(&'static str, u32),
}

/// What a bar measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Count,
    /// The sum of a money column in the base currency (its `_base` twin).
    Sum(&'static str),
}

/// A bar chart of an entity's records.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The chart's id in the page (`dash-pipeline`).
    pub key: &'static str,
    pub title: (&'static str, &'static str),
    pub description: (&'static str, &'static str),
    pub entity: &'static str,
    /// The records counted (an OData `$filter`).
    pub filter: &'static str,
    pub group: ChartGroup,
    pub measure: Measure,
}

/// A module's dashboard on the home page: its charts a user may read.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub title: (&'static str, &'static str),
    pub charts: Vec<Chart>,
    /// The board the dashboard links to (its `path`).
    pub board: Option<&'static str>,
}

/// A label in the language of `lcid` (Russian 1049, else English).
pub fn in_language(label: (&'static str, &'static str), lcid: u32) -> &'static str {
    if lcid == 1049 {
        label.1
    } else {
        label.0
    }
}
