use super::Counts;
pub fn round(_seed: u64) -> Counts {
    Counts { rounds: 1, ..Counts::default() }
}
