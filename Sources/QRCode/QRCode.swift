// QR codes as SVG (being written).
