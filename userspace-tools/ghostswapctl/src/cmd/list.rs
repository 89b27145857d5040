//! `ghostswapctl list`: one line per device that is set up, like zramctl.

use anyhow::Result;
use comfy_table::{presets, CellAlignment, ColumnConstraint, ContentArrangement, Table};
use serde_json::{json, Map, Value};

use crate::cli::ListArgs;
use crate::columns::{Column, Row};
use crate::paths::Roots;
use crate::swaps;
use crate::sysfs::{Device, Snapshot};

/// Renders the list as `args` asks.
pub fn render(roots: &Roots, args: &ListArgs) -> Result<String> {
    let columns = Column::parse_list(&args.output)?;
    let areas = swaps::areas(roots)?;
    let mut devices = Vec::new();
    for device in Device::all(roots)? {
        let snap = Snapshot::read(&device)?;
        if snap.is_set_up() {
            devices.push((device, snap));
        }
    }
    let rows: Vec<Row<'_>> = devices
        .iter()
        .map(|(device, snap)| Row {
            device,
            snap,
            swap: areas.iter().find(|a| a.filename == device.dev_name()),
        })
        .collect();

    if args.json {
        let list: Vec<Value> = rows
            .iter()
            .map(|row| {
                let fields: Map<String, Value> =
                    columns.iter().map(|c| (c.key(), c.json(row))).collect();
                Value::Object(fields)
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&json!({ "devices": list }))? + "\n");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|c| c.text(row, args.bytes)).collect())
        .collect();
    let headers: Vec<&str> = columns.iter().map(|c| c.header()).collect();
    if args.raw {
        let mut out = String::new();
        if !args.noheadings {
            out += &headers.join(" ");
            out.push('\n');
        }
        for line in &cells {
            out += &line.join(" ");
            out.push('\n');
        }
        return Ok(out);
    }
    if cells.is_empty() {
        return Ok(String::new());
    }
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    if !args.noheadings {
        table.set_header(headers);
    }
    for line in cells {
        table.add_row(line);
    }
    for (i, c) in columns.iter().enumerate() {
        if let Some(col) = table.column_mut(i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
            col.set_padding((0, 1));
            if c.numeric() {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    Ok(table.trim_fmt() + "\n")
}
