#!/bin/sh
# handlers/shipping.sh - shipping.schedule.
. "$(dirname "$0")/common.sh"
publish ShippingScheduled carrier=post
