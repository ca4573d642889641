#!/bin/sh
# Creates the Secrets the manifests mount: gradflow-tls (ca.crt, tls.crt, tls.key: a private CA and
# a server certificate for the in-cluster names of the parameter servers gradflow-ps-0 .. -(S-1),
# which every server serves: one server, or the sharded component's two) and gradflow-token (token).
#
#   deploy/k8s/make-secrets.sh [NAMESPACE [SERVERS]]     # needs openssl and kubectl; SERVERS: 2
#
# The key material is written to a temporary directory and removed afterwards; keep your own CA
# instead if you have one (kubectl create secret generic gradflow-tls --from-file=...).
set -eu
NS=${1:-$(kubectl config view --minify -o jsonpath='{..namespace}')}
NS=${NS:-default}
SERVERS=${2:-2}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
openssl req -x509 -newkey rsa:3072 -nodes -days 365 -subj "/CN=gradflow CA" \
  -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:3072 -nodes -subj "/CN=gradflow-ps" -keyout tls.key -out tls.csr 2>/dev/null
SAN="DNS:gradflow-ps"
i=0
while [ "$i" -lt "$SERVERS" ]; do
  for name in "gradflow-ps-$i.gradflow-ps" "gradflow-ps-$i.gradflow-ps.$NS.svc" "gradflow-ps-$i.gradflow-ps.$NS.svc.cluster.local"; do
    SAN="$SAN,DNS:$name"
  done
  i=$((i + 1))
done
printf 'subjectAltName=%s\n' "$SAN" > san.ext
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
  -extfile san.ext -out tls.crt 2>/dev/null
openssl rand -hex 32 > token
kubectl -n "$NS" create secret generic gradflow-tls --from-file=ca.crt --from-file=tls.crt --from-file=tls.key
kubectl -n "$NS" create secret generic gradflow-token --from-file=token
echo "created secrets gradflow-tls and gradflow-token in namespace $NS"
