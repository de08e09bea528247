//! A printed code card as a PNG image (decision 0019): the elder's name, the card's id and
//! serial, and the codes in order in a numbered grid, in GNU Unifont's bitmap glyphs (which
//! cover Chinese) at twice their size, black on white, 8-bit grey.

use anyhow::{Context, Result};
use carebank_core::CardSheet;

use crate::args::cst_date;

/// Pixels per glyph pixel.
const SCALE: usize = 2;
/// The height of a line of text, in image pixels.
const LINE: usize = 16 * SCALE + 8;
/// The margin around everything.
const MARGIN: usize = 24;
/// Codes per row of the grid.
const COLUMNS: usize = 5;
/// A grid cell: "NN 123456" and padding.
const CELL_W: usize = 9 * 8 * SCALE + 24;
/// A grid cell's height.
const CELL_H: usize = LINE + 8;
/// The image's width.
const WIDTH: usize = 2 * MARGIN + COLUMNS * CELL_W;

/// An 8-bit grey canvas, white to start with.
struct Canvas {
    pixels: Vec<u8>,
    height: usize,
}

impl Canvas {
    fn new(height: usize) -> Canvas {
        Canvas {
            pixels: vec![255; WIDTH * height],
            height,
        }
    }

    fn dot(&mut self, x: usize, y: usize) {
        if x < WIDTH && y < self.height {
            self.pixels[y * WIDTH + x] = 0;
        }
    }

    /// Draws `text` with its top left at (`x`, `y`); a character without a glyph is drawn as
    /// a box. Returns the width drawn.
    fn text(&mut self, x: usize, y: usize, text: &str) -> usize {
        let mut pen = x;
        for c in text.chars() {
            let width = match unifont::get_glyph(c) {
                Some(glyph) => {
                    for gy in 0..16 {
                        for gx in 0..glyph.get_width() {
                            if glyph.get_pixel(gx, gy) {
                                self.block(pen + gx * SCALE, y + gy * SCALE);
                            }
                        }
                    }
                    glyph.get_width()
                }
                None => {
                    self.frame(pen + 2, y + 2, 8 * SCALE - 4, 16 * SCALE - 4);
                    8
                }
            };
            pen += width * SCALE;
        }
        pen - x
    }

    fn block(&mut self, x: usize, y: usize) {
        for dy in 0..SCALE {
            for dx in 0..SCALE {
                self.dot(x + dx, y + dy);
            }
        }
    }

    /// A one-pixel rectangle outline.
    fn frame(&mut self, x: usize, y: usize, w: usize, h: usize) {
        for i in 0..=w {
            self.dot(x + i, y);
            self.dot(x + i, y + h);
        }
        for j in 0..=h {
            self.dot(x, y + j);
            self.dot(x + w, y + j);
        }
    }
}

/// The card as PNG bytes.
pub fn card_png(sheet: &CardSheet) -> Result<Vec<u8>> {
    let rows = sheet.codes.len().div_ceil(COLUMNS);
    let header_lines = 5;
    let footer_lines = 2;
    let height = 2 * MARGIN + (header_lines + footer_lines) * LINE + rows * CELL_H + 16;
    let mut canvas = Canvas::new(height);
    let card = &sheet.card;
    let mut y = MARGIN;
    canvas.text(MARGIN, y, "服务确认卡  Service confirmation card");
    y += LINE;
    let name = if sheet.elder_name.is_empty() {
        card.elder_id.to_string()
    } else {
        sheet.elder_name.clone()
    };
    canvas.text(MARGIN, y, &format!("老人 Elder: {name}"));
    y += LINE;
    canvas.text(MARGIN, y, &format!("卡号 Card: {}", card.card_id));
    y += LINE;
    canvas.text(
        MARGIN,
        y,
        &format!(
            "第 {} 张 No.{}  {}  {} 码 codes",
            card.serial,
            card.serial,
            cst_date(card.issued_ms as i64),
            card.codes
        ),
    );
    y += LINE + 8;
    let digits = sheet.codes.len().to_string().len().max(2);
    for (i, code) in sheet.codes.iter().enumerate() {
        let (col, row) = (i % COLUMNS, i / COLUMNS);
        let (x, cy) = (MARGIN + col * CELL_W, y + row * CELL_H);
        canvas.frame(x, cy, CELL_W, CELL_H);
        canvas.text(
            x + 12,
            cy + 8,
            &format!("{:0digits$} {code}", i + 1, digits = digits),
        );
    }
    y += rows * CELL_H + 16;
    canvas.text(MARGIN, y, "每次服务后，请出示下一个号码并划掉。");
    y += LINE;
    canvas.text(
        MARGIN,
        y,
        "Show the next code after each service, cross it off.",
    );
    encode(&canvas)
}

fn encode(canvas: &Canvas) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH as u32, canvas.height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("card image")?;
    writer
        .write_image_data(&canvas.pixels)
        .context("card image")?;
    writer.finish().context("card image")?;
    Ok(out)
}
