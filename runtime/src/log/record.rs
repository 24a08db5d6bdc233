//! Records as producers hand them in (owned) and as consumers read them (borrowed from a batch).

/// One record to append: Kafka's key, value, headers and timestamp.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// The key; records with equal keys land in the same partition (murmur2).
    pub key: Option<Vec<u8>>,
    /// The value (payload).
    pub value: Option<Vec<u8>>,
    /// Ordered headers; duplicates allowed.
    pub headers: Vec<Header>,
    /// Milliseconds since the Unix epoch (`CreateTime`); `None` takes the append time.
    pub timestamp: Option<i64>,
}

/// A record header: a string key and bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The header's name.
    pub key: String,
    /// The header's value; `None` is Kafka's null.
    pub value: Option<Vec<u8>>,
}

/// A record to append, borrowing its bytes (a line straight from the column that holds it); what
/// [`Record`] is without owning anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// The key.
    pub key: Option<&'a [u8]>,
    /// The value (payload).
    pub value: Option<&'a [u8]>,
    /// Ordered headers.
    pub headers: &'a [Header],
    /// Milliseconds since the Unix epoch; `None` takes the append time.
    pub timestamp: Option<i64>,
}

/// Anything the log can append as a record: a [`Record`], a reference to one, a [`RecordRef`].
pub trait AsRecord {
    /// The record's fields, borrowed.
    fn as_record(&self) -> RecordRef<'_>;
}

impl AsRecord for Record {
    fn as_record(&self) -> RecordRef<'_> {
        RecordRef {
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: &self.headers,
            timestamp: self.timestamp,
        }
    }
}

impl AsRecord for RecordRef<'_> {
    fn as_record(&self) -> RecordRef<'_> {
        *self
    }
}

impl<R: AsRecord + ?Sized> AsRecord for &R {
    fn as_record(&self) -> RecordRef<'_> {
        (**self).as_record()
    }
}

/// A record read back from the log, borrowing its bytes from the batch that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// The record's offset in its partition.
    pub offset: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The key, if any.
    pub key: Option<&'a [u8]>,
    /// The value, if any.
    pub value: Option<&'a [u8]>,
    /// The headers: raw key bytes (UTF-8 when written by flowc) and value.
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

/// A record read back from the log, owning its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// The partition it was read from.
    pub partition: u32,
    /// Its offset in that partition.
    pub offset: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The key, if any.
    pub key: Option<Vec<u8>>,
    /// The value, if any.
    pub value: Option<Vec<u8>>,
    /// The headers.
    pub headers: Vec<Header>,
}

impl Record {
    /// A keyless record holding `value`, stamped at append time.
    pub fn from_value(value: impl Into<Vec<u8>>) -> Record {
        Record { value: Some(value.into()), ..Record::default() }
    }

    /// A keyed record, stamped at append time.
    pub fn keyed(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Record {
        Record { key: Some(key.into()), value: Some(value.into()), ..Record::default() }
    }
}

impl RecordView<'_> {
    /// Copies the record out of its batch.
    pub fn to_owned_record(&self, partition: u32) -> ConsumedRecord {
        ConsumedRecord {
            partition,
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.map(<[u8]>::to_vec),
            value: self.value.map(<[u8]>::to_vec),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| Header { key: String::from_utf8_lossy(k).into_owned(), value: v.map(<[u8]>::to_vec) })
                .collect(),
        }
    }
}
