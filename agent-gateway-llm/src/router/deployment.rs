use std::num::NonZeroU32;

use crate::Price;
use crate::provider::Timeouts;
use crate::request::Feature;

/// One deployment of a model alias: which provider, which upstream model, at what price, and
/// with what weight among the deployments of its tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub(super) provider: String,
    pub(super) model: String,
    pub(super) price: Price,
    pub(super) weight: NonZeroU32,
    pub(super) timeouts: Timeouts,
    pub(super) features: Vec<Feature>,
}

impl Deployment {
    /// `model` on the provider registered as `provider`, free until priced, of weight 1.
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        Deployment {
            provider: provider.into(),
            model: model.into(),
            price: Price::FREE,
            weight: NonZeroU32::MIN,
            timeouts: Timeouts::default(),
            features: Vec::new(),
        }
    }

    /// Allows the price- or tool-changing request [`Feature`]s in `features` on this
    /// deployment. None are allowed unless set: a request using one is not sent here, and if
    /// no deployment of its alias allows it, it is refused with 400.
    pub fn with_features(mut self, features: impl IntoIterator<Item = Feature>) -> Self {
        self.features = features.into_iter().collect();
        self.features.sort();
        self.features.dedup();
        self
    }

    /// The features allowed.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// Whether every feature in `used` is allowed.
    pub(super) fn allows(&self, used: &[Feature]) -> bool {
        used.iter().all(|f| self.features.contains(f))
    }

    /// Sets how long the deployment may take to send its headers, and to stay silent inside
    /// a stream; [`Timeouts::default`] unless set.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Sets the price.
    pub fn with_price(mut self, price: Price) -> Self {
        self.price = price;
        self
    }

    /// Sets the weight: how much of its tier's traffic the deployment takes, relative to the
    /// others, when their latencies are alike.
    pub fn with_weight(mut self, weight: NonZeroU32) -> Self {
        self.weight = weight;
        self
    }

    /// The provider name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The upstream model name.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The price.
    pub fn price(&self) -> Price {
        self.price
    }

    /// The weight.
    pub fn weight(&self) -> NonZeroU32 {
        self.weight
    }
}
