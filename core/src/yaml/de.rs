//! Typed values read from a [`Node`] through serde, each error pointing at the node that
//! caused it (an unknown key at the key, a wrong type at the value, a missing key at its
//! mapping).

use super::{Node, Value};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::ops::Range;

/// An error while reading a typed value, and the node it is about.
#[derive(Debug)]
pub struct DeError {
    pub message: String,
    pub span: Option<Range<usize>>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        DeError {
            message: message.to_string(),
            span: None,
        }
    }
}

type Result<T> = std::result::Result<T, DeError>;

/// Gives an error the span of `node` unless a deeper node already gave it one.
fn at<T>(result: Result<T>, node: &Node) -> Result<T> {
    result.map_err(|mut e| {
        if e.span.is_none() {
            e.span = Some(node.span.clone());
        }
        e
    })
}

/// Reads a node.
#[derive(Clone, Copy)]
pub struct NodeDeserializer<'a>(pub &'a Node);

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let node = self.0;
        if let Some(tag) = &node.tag {
            return Err(DeError {
                message: format!("the tag {tag} is not supported here"),
                span: Some(node.span.clone()),
            });
        }
        let result = match &node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(n) => visitor.visit_i64(*n),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => visitor.visit_seq(Items(items.iter())),
            Value::Map(entries) => visitor.visit_map(Entries {
                entries: entries.iter(),
                value: None,
            }),
        };
        at(result, node)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.value {
            Value::Null => visitor.visit_none(),
            _ => at(visitor.visit_some(self), self.0),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        // An empty document (or an empty value) is a struct of defaults.
        match &self.0.value {
            Value::Null => at(
                visitor.visit_map(Entries {
                    entries: [].iter(),
                    value: None,
                }),
                self.0,
            ),
            Value::Map(_) => self.deserialize_any(visitor),
            _ => Err(DeError {
                message: format!("{} where a mapping was expected", self.0.describe()),
                span: Some(self.0.span.clone()),
            }),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_struct("", &[], visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match &self.0.value {
            Value::Str(s) => at(visitor.visit_enum(s.as_str().into_deserializer()), self.0),
            _ => Err(DeError {
                message: format!("{} where one of the names was expected", self.0.describe()),
                span: Some(self.0.span.clone()),
            }),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct identifier ignored_any
    }
}

struct Items<'a>(std::slice::Iter<'a, Node>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        match self.0.next() {
            Some(node) => at(seed.deserialize(NodeDeserializer(node)), node).map(Some),
            None => Ok(None),
        }
    }
}

struct Entries<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                at(seed.deserialize(NodeDeserializer(key)), key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let node = self.value.take().expect("a value follows its key");
        at(seed.deserialize(NodeDeserializer(node)), node)
    }
}
