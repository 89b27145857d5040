//! Size expressions of the configuration file, relative to the machine's memory:
//! `ram / 2`, `min(ram / 4, 8G)`, `2G`, `ram * 0.75 - 512M`.
//!
//! Grammar: `+ - * /` with the usual precedence, parentheses, `min(a, b)` and
//! `max(a, b)`, the word `ram` (MemTotal), and numbers with an optional fraction and
//! an optional `K`, `M`, `G` or `T` suffix (powers of 1024); a number without a suffix
//! is bytes. The result is rounded down to whole 4 KiB pages.

use thiserror::Error;

/// Why an expression has no size.
#[derive(Debug, Error, PartialEq)]
pub enum ExprError {
    /// Not in the grammar.
    #[error("`{text}`: {what} at column {column}")]
    Syntax {
        /// The expression.
        text: String,
        /// What was wrong.
        what: String,
        /// Where, counting from 1.
        column: usize,
    },
    /// A size of nothing, or less.
    #[error("`{text}` is {value} bytes: a size must be at least one page (4096 bytes)")]
    TooSmall {
        /// The expression.
        text: String,
        /// Its value.
        value: f64,
    },
    /// Division by zero, or a value too large to mean anything.
    #[error("`{text}` has no finite value")]
    NotFinite {
        /// The expression.
        text: String,
    },
}

const PAGE: f64 = 4096.0;

/// Evaluates `text` with `ram` bytes of memory; returns bytes, a multiple of 4096.
pub fn eval(text: &str, ram: u64) -> Result<u64, ExprError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        // CAST: memory sizes are far below 2^53.
        ram: ram as f64,
    };
    let value = parser.expr()?;
    parser.skip_space();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error("unexpected text"));
    }
    if !value.is_finite() || value > 1e19 {
        return Err(ExprError::NotFinite {
            text: text.to_owned(),
        });
    }
    let pages = (value / PAGE).floor();
    if pages < 1.0 {
        return Err(ExprError::TooSmall {
            text: text.to_owned(),
            value,
        });
    }
    // CAST: finite, at least 1 and at most 1e19 / 4096, so it fits.
    Ok(pages as u64 * 4096)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    ram: f64,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> ExprError {
        ExprError::Syntax {
            text: self.text.to_owned(),
            what: what.to_owned(),
            column: self.pos + 1,
        }
    }

    fn skip_space(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.pos += 1;
        }
    }

    /// Consumes `c` (after spaces) if it is next.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<f64, ExprError> {
        let mut value = self.term()?;
        loop {
            if self.eat(b'+') {
                value += self.term()?;
            } else if self.eat(b'-') {
                value -= self.term()?;
            } else {
                return Ok(value);
            }
        }
    }

    fn term(&mut self) -> Result<f64, ExprError> {
        let mut value = self.atom()?;
        loop {
            if self.eat(b'*') {
                value *= self.atom()?;
            } else if self.eat(b'/') {
                value /= self.atom()?;
            } else {
                return Ok(value);
            }
        }
    }

    fn atom(&mut self) -> Result<f64, ExprError> {
        self.skip_space();
        if self.eat(b'(') {
            let value = self.expr()?;
            if !self.eat(b')') {
                return Err(self.error("expected `)`"));
            }
            return Ok(value);
        }
        match self.bytes.get(self.pos) {
            Some(c) if c.is_ascii_digit() || *c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.word(),
            Some(_) => Err(self.error("expected a number, `ram`, `min(`, `max(` or `(`")),
            None => Err(self.error("expected a number or `ram` at the end")),
        }
    }

    fn number(&mut self) -> Result<f64, ExprError> {
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
        {
            self.pos += 1;
        }
        let digits = &self.text[start..self.pos];
        let value: f64 = digits.parse().map_err(|_| ExprError::Syntax {
            text: self.text.to_owned(),
            what: format!("`{digits}` is not a number"),
            column: start + 1,
        })?;
        let shift = match self.bytes.get(self.pos).map(u8::to_ascii_uppercase) {
            Some(b'K') => 10,
            Some(b'M') => 20,
            Some(b'G') => 30,
            Some(b'T') => 40,
            _ => return Ok(value),
        };
        self.pos += 1;
        // CAST: at most 2^40, exact in f64.
        Ok(value * (1u64 << shift) as f64)
    }

    fn word(&mut self) -> Result<f64, ExprError> {
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(u8::is_ascii_alphabetic)
        {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        match word.to_ascii_lowercase().as_str() {
            "ram" => Ok(self.ram),
            name @ ("min" | "max") => {
                if !self.eat(b'(') {
                    return Err(self.error("expected `(` after min or max"));
                }
                let a = self.expr()?;
                if !self.eat(b',') {
                    return Err(self.error("expected `,` between the two sizes"));
                }
                let b = self.expr()?;
                if !self.eat(b')') {
                    return Err(self.error("expected `)`"));
                }
                Ok(if name == "min" { a.min(b) } else { a.max(b) })
            }
            _ => Err(ExprError::Syntax {
                text: self.text.to_owned(),
                what: format!("unknown word `{word}` (only `ram`, `min` and `max`)"),
                column: start + 1,
            }),
        }
    }
}
