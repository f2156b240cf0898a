#!/bin/sh
# handlers/inventory.sh - inventory.reserve and inventory.release.
. "$(dirname "$0")/common.sh"
case $EV_TYPE in
inventory.reserve) publish InventoryReserved sku="$(field sku)" qty:="$(field qty)" ;;
inventory.release) publish InventoryReleased sku="$(field sku)" qty:="$(field qty)" ;;
*) echo "inventory.sh: not a command of mine: $EV_TYPE" >&2; exit 65 ;;
esac
