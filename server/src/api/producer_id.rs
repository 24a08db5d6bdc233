//! InitProducerId: a fresh producer id (epoch 0) for an idempotent producer; transactional ids are
//! refused, as transactions are not served.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use crate::broker::Shared;

pub(crate) fn handle(broker: &Shared, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let mut r = InitProducerIdResponse::default();
    if req.transactional_id.is_some() {
        r.error_code = ResponseError::TransactionalIdAuthorizationFailed.code();
        r.producer_id = ProducerId(-1);
        r.producer_epoch = -1;
        return r;
    }
    r.producer_id = ProducerId(broker.new_producer_id());
    r.producer_epoch = 0;
    r
}
