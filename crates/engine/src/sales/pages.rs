//! The sales pages: the pipeline board of open opportunities by stage,
//! and the sales dashboard.

use crate::modules::{Board, Chart, ChartGroup, Dashboard, Measure, Registry};

pub(crate) fn register(r: &mut Registry) {
    let pipeline_chart = ("Pipeline by stage", "Воронка по этапам");
    let pipeline_description =
        ("Estimated revenue of open opportunities per sales stage", "Предполагаемый доход открытых сделок по этапам");
    r.board(Board {
        path: "pipeline",
        entity: "opportunity",
        title: ("Pipeline", "Воронка продаж"),
        filter: "statecode eq 0",
        mine: ("My opportunities", "Мои возможные сделки"),
        amount: "estimatedvalue",
        weight: Some("closeprobability"),
        subtitle: Some("customerid"),
        chart: pipeline_chart,
        chart_description: pipeline_description,
    });
    r.dashboard(Dashboard {
        title: ("Sales dashboard", "Панель продаж"),
        board: Some("pipeline"),
        charts: vec![
            Chart {
                key: "dash-pipeline",
                title: pipeline_chart,
                description: pipeline_description,
                entity: "opportunity",
                filter: "statecode eq 0",
                group: ChartGroup::Stage,
                measure: Measure::Sum("estimatedvalue"),
            },
            Chart {
                key: "dash-leads",
                title: ("Open leads by source", "Открытые интересы по источникам"),
                description: ("Number of open leads per lead source", "Число открытых интересов по источникам"),
                entity: "lead",
                filter: "statecode eq 0",
                group: ChartGroup::Column("leadsourcecode"),
                measure: Measure::Count,
            },
            Chart {
                key: "dash-won",
                title: ("Won revenue by month", "Выигранный доход по месяцам"),
                description: (
                    "Actual revenue of opportunities won in each of the last twelve months",
                    "Фактический доход выигранных сделок за последние двенадцать месяцев",
                ),
                entity: "opportunity",
                filter: "statecode eq 1",
                group: ChartGroup::Months("actualclosedate", 12),
                measure: Measure::Sum("actualvalue"),
            },
        ],
    });
}
