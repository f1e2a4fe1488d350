#!/bin/sh
# mkcerts.sh DIR: the certificates check_tls uses, made with the openssl
# command: a private CA (ca.pem), a server certificate for 127.0.0.1
# signed by it (server.pem, server.key), a client certificate for mutual
# TLS (client.pem, client.key), a second CA that signed nothing the
# server uses (other-ca.pem), and the server key's pin in
# curl's form (pin.txt: sha256//BASE64) and another key's (otherpin.txt).
# EC P-256 keys: quick to make.
set -eu
d=$1
cd "$d"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1" 2>/dev/null; }
pin() { openssl pkey -in "$1" -pubout -outform der 2>/dev/null |
    openssl dgst -sha256 -binary | openssl base64 -A |
    sed 's,^,sha256//,'; }

key ca.key
openssl req -x509 -new -key ca.key -subj /CN=fanoutd-test-ca -days 2 \
    -out ca.pem 2>/dev/null
key other-ca.key
openssl req -x509 -new -key other-ca.key -subj /CN=other-ca -days 2 \
    -out other-ca.pem 2>/dev/null
for who in server client; do
	key "$who.key"
	openssl req -new -key "$who.key" -subj "/CN=$who" \
	    -out "$who.csr" 2>/dev/null
done
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
printf 'extendedKeyUsage=clientAuth\n' >client.ext
for who in server client; do
	openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -days 2 -extfile "$who.ext" \
	    -out "$who.pem" 2>/dev/null
done
pin server.key >pin.txt
pin other-ca.key >otherpin.txt
chmod 644 ./*.pem ./*.txt
chmod 600 ./*.key
