//! Precedence-climbing parser from tokens to [`Expr`], following the FHIRPath grammar's
//! operator table (from loosest): `implies`, `or`/`xor`, `and`, `in`/`contains`, equality,
//! inequality, `|`, `is`/`as`, additive, multiplicative, unary sign, then `.` and `[]`.

use crate::ast::{BinOp, Expr, ExprKind, Func, Literal, TypeSpec};
use crate::datetime;
use crate::error::ParseError;
use crate::lexer::{Tok, Token, tokenize};
use crate::quantity::{CALENDAR_WORDS, Quantity};
use crate::value::parse_decimal;

/// Nesting guard for the parser's recursion: a hostile expression must not overflow the stack.
const MAX_DEPTH: usize = 64;
/// Depth guard for the tree the evaluator recurses over (long `a + b + c ...` chains nest on
/// the left without recursing in the parser). The deepest R4 definition expression is far
/// below this.
const MAX_TREE_DEPTH: usize = 160;

pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(src)?;
    let mut p = Parser { tokens, i: 0, depth: 0 };
    let expr = p.expression(0)?;
    match &p.peek().tok {
        Tok::Eof => {}
        other => return Err(ParseError::new(p.peek().pos, format!("unexpected {other:?}"))),
    }
    if tree_depth(&expr) > MAX_TREE_DEPTH {
        return Err(ParseError::new(0, "expression nested too deeply"));
    }
    Ok(expr)
}

/// Depth of the tree, computed without recursion.
pub fn tree_depth(root: &Expr) -> usize {
    let mut max = 0;
    let mut stack: Vec<(&Expr, usize)> = vec![(root, 1)];
    while let Some((e, d)) = stack.pop() {
        max = max.max(d);
        match &e.kind {
            ExprKind::Member(t, _) | ExprKind::Negate(t) | ExprKind::Is(t, _) | ExprKind::As(t, _) => {
                stack.push((t, d + 1))
            }
            ExprKind::Indexer(a, b) | ExprKind::Binary(_, a, b) => {
                stack.push((a, d + 1));
                stack.push((b, d + 1));
            }
            ExprKind::Call(t, _, args) => {
                if let Some(t) = t {
                    stack.push((t, d + 1));
                }
                stack.extend(args.iter().map(|a| (a, d + 1)));
            }
            _ => {}
        }
    }
    max
}

struct Parser {
    tokens: Vec<Token>,
    i: usize,
    depth: usize,
}

fn infix(tok: &Tok) -> Option<(u8, Option<BinOp>)> {
    // precedence, operator (None for `is`/`as`)
    Some(match tok {
        Tok::Ident(w, false) => match w.as_str() {
            "implies" => (1, Some(BinOp::Implies)),
            "or" => (2, Some(BinOp::Or)),
            "xor" => (2, Some(BinOp::Xor)),
            "and" => (3, Some(BinOp::And)),
            "in" => (4, Some(BinOp::In)),
            "contains" => (4, Some(BinOp::Contains)),
            "is" | "as" => (8, None),
            "div" => (10, Some(BinOp::IntDiv)),
            "mod" => (10, Some(BinOp::Mod)),
            _ => return None,
        },
        Tok::Punct(p) => match *p {
            "=" => (5, Some(BinOp::Eq)),
            "~" => (5, Some(BinOp::Equiv)),
            "!=" => (5, Some(BinOp::Ne)),
            "!~" => (5, Some(BinOp::NotEquiv)),
            "<" => (6, Some(BinOp::Lt)),
            "<=" => (6, Some(BinOp::Le)),
            ">" => (6, Some(BinOp::Gt)),
            ">=" => (6, Some(BinOp::Ge)),
            "|" => (7, Some(BinOp::Union)),
            "+" => (9, Some(BinOp::Add)),
            "-" => (9, Some(BinOp::Sub)),
            "&" => (9, Some(BinOp::Concat)),
            "*" => (10, Some(BinOp::Mul)),
            "/" => (10, Some(BinOp::Div)),
            _ => return None,
        },
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.i.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.tokens.len() {
            self.i += 1;
        }
        t
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(q) if *q == p)
    }

    fn expect(&mut self, p: &str) -> Result<(), ParseError> {
        if self.is_punct(p) {
            self.i += 1;
            Ok(())
        } else {
            Err(ParseError::new(self.peek().pos, format!("expected '{p}'")))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(self.peek().pos, "expression nested too deeply"));
        }
        Ok(())
    }

    fn expression(&mut self, min_prec: u8) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut lhs = self.unary()?;
        while let Some((prec, op)) = infix(&self.peek().tok) {
            if prec < min_prec {
                break;
            }
            let tok = self.next();
            let pos = tok.pos;
            lhs = match op {
                None => {
                    let spec = self.type_spec()?;
                    let is = matches!(&tok.tok, Tok::Ident(w, _) if w == "is");
                    let kind = if is {
                        ExprKind::Is(Box::new(lhs), spec)
                    } else {
                        ExprKind::As(Box::new(lhs), spec)
                    };
                    Expr { kind, pos }
                }
                Some(op) => {
                    // `implies` is right-associative, the rest left-associative
                    let next_min = if op == BinOp::Implies { prec } else { prec + 1 };
                    let rhs = self.expression(next_min)?;
                    Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), pos }
                }
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.is_punct("-") || self.is_punct("+") {
            self.enter()?;
            let tok = self.next();
            let operand = self.unary()?;
            self.depth -= 1;
            if matches!(tok.tok, Tok::Punct("+")) {
                return Ok(operand);
            }
            let folded = match &operand.kind {
                ExprKind::Literal(Literal::Integer(i)) => Some(Literal::Integer(-i)),
                ExprKind::Literal(Literal::Decimal(d)) => Some(Literal::Decimal(-d)),
                ExprKind::Literal(Literal::Quantity(q)) => {
                    Some(Literal::Quantity(Quantity { value: -q.value, unit: q.unit.clone() }))
                }
                _ => None,
            };
            let kind = match folded {
                Some(l) => ExprKind::Literal(l),
                None => ExprKind::Negate(Box::new(operand)),
            };
            return Ok(Expr { kind, pos: tok.pos });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.term()?;
        loop {
            if self.is_punct(".") {
                self.i += 1;
                let tok = self.next();
                let name = match tok.tok {
                    Tok::Ident(name, _) => name,
                    other => return Err(ParseError::new(tok.pos, format!("expected a name after '.', found {other:?}"))),
                };
                if self.is_punct("(") {
                    expr = self.call(Some(expr), &name, tok.pos)?;
                } else {
                    expr = Expr { kind: ExprKind::Member(Box::new(expr), name), pos: tok.pos };
                }
            } else if self.is_punct("[") {
                let pos = self.next().pos;
                let index = self.expression(0)?;
                self.expect("]")?;
                expr = Expr { kind: ExprKind::Indexer(Box::new(expr), Box::new(index)), pos };
            } else {
                return Ok(expr);
            }
        }
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let tok = self.next();
        let pos = tok.pos;
        let lit = |l| Ok(Expr { kind: ExprKind::Literal(l), pos });
        match tok.tok {
            Tok::Number(text) => {
                let unit = match &self.peek().tok {
                    Tok::Str(u) => Some(u.clone()),
                    Tok::Ident(w, false) if CALENDAR_WORDS.contains(&w.as_str()) => Some(w.clone()),
                    _ => None,
                };
                let bad = || ParseError::new(pos, format!("invalid number {text}"));
                if let Some(unit) = unit {
                    self.i += 1;
                    let value = parse_decimal(&text).ok_or_else(bad)?;
                    return lit(Literal::Quantity(Quantity { value, unit }));
                }
                if text.contains('.') {
                    lit(Literal::Decimal(parse_decimal(&text).ok_or_else(bad)?))
                } else {
                    match text.parse::<i64>() {
                        Ok(i) => lit(Literal::Integer(i)),
                        Err(_) => lit(Literal::Decimal(parse_decimal(&text).ok_or_else(bad)?)),
                    }
                }
            }
            Tok::Str(s) => lit(Literal::String(s)),
            Tok::DateTime(text) => {
                let bad = || ParseError::new(pos, format!("invalid date/time @{text}"));
                if text.contains('T') {
                    lit(Literal::DateTime(datetime::parse_datetime(&text).ok_or_else(bad)?))
                } else {
                    lit(Literal::Date(datetime::parse_date(&text).ok_or_else(bad)?))
                }
            }
            Tok::Time(text) => {
                let t = datetime::parse_time(&text)
                    .ok_or_else(|| ParseError::new(pos, format!("invalid time @T{text}")))?;
                lit(Literal::Time(t))
            }
            Tok::Ident(name, quoted) => {
                if !quoted && (name == "true" || name == "false") {
                    return lit(Literal::Boolean(name == "true"));
                }
                if self.is_punct("(") {
                    return self.call(None, &name, pos);
                }
                Ok(Expr { kind: ExprKind::Identifier(name), pos })
            }
            Tok::Dollar(name) => {
                let kind = match name.as_str() {
                    "this" => ExprKind::This,
                    "index" => ExprKind::Index,
                    _ => ExprKind::Total,
                };
                Ok(Expr { kind, pos })
            }
            Tok::Env(name) => Ok(Expr { kind: ExprKind::Env(name), pos }),
            Tok::Punct("(") => {
                let inner = self.expression(0)?;
                self.expect(")")?;
                Ok(inner)
            }
            Tok::Punct("{") => {
                self.expect("}")?;
                Ok(Expr { kind: ExprKind::Empty, pos })
            }
            Tok::Eof => Err(ParseError::new(pos, "unexpected end of expression")),
            other => Err(ParseError::new(pos, format!("unexpected {other:?}"))),
        }
    }

    fn call(&mut self, target: Option<Expr>, name: &str, pos: usize) -> Result<Expr, ParseError> {
        let func = Func::from_name(name)
            .ok_or_else(|| ParseError::new(pos, format!("unknown function {name}()")))?;
        self.expect("(")?;
        let mut args = Vec::new();
        if !self.is_punct(")") {
            loop {
                if matches!(func, Func::Is | Func::As | Func::OfType) {
                    let spec = self.type_spec()?;
                    args.push(Expr { kind: ExprKind::Literal(Literal::String(spec_text(&spec))), pos });
                } else {
                    args.push(self.expression(0)?);
                }
                if self.is_punct(",") {
                    self.i += 1;
                } else {
                    break;
                }
            }
        }
        self.expect(")")?;
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(ParseError::new(pos, format!("{name}() takes {min} to {max} arguments, got {}", args.len())));
        }
        Ok(Expr { kind: ExprKind::Call(target.map(Box::new), func, args), pos })
    }

    fn type_spec(&mut self) -> Result<TypeSpec, ParseError> {
        let first = self.next();
        let Tok::Ident(first, _) = first.tok else {
            return Err(ParseError::new(first.pos, "expected a type name"));
        };
        if self.is_punct(".")
            && let Some(Token { tok: Tok::Ident(second, _), .. }) = self.tokens.get(self.i + 1).cloned()
            && !matches!(self.tokens.get(self.i + 2).map(|t| &t.tok), Some(Tok::Punct("(")))
        {
            self.i += 2;
            return Ok(TypeSpec { namespace: Some(first), name: second });
        }
        Ok(TypeSpec { namespace: None, name: first })
    }
}

/// Type arguments of `is()`, `as()`, `ofType()` travel as `Namespace.Name` text.
fn spec_text(spec: &TypeSpec) -> String {
    match &spec.namespace {
        Some(ns) => format!("{ns}.{}", spec.name),
        None => spec.name.clone(),
    }
}

pub fn spec_from_text(text: &str) -> TypeSpec {
    match text.split_once('.') {
        Some((ns, name)) => TypeSpec { namespace: Some(ns.to_string()), name: name.to_string() },
        None => TypeSpec { namespace: None, name: text.to_string() },
    }
}
