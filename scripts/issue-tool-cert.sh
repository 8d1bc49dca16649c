#!/usr/bin/env bash
# Issues certificates from the operator's CA for tjfd's TLS listener (docs/platform-mode.md).
# A tool's certificate has CN = the tool name and O = toolforge, as on Toolforge; tjfd takes
# the CN as the tool.
#
#   scripts/issue-tool-cert.sh ca     CA_DIR [--days N]
#       creates the operator CA: CA_DIR/ca.crt and CA_DIR/ca.key (0600)
#   scripts/issue-tool-cert.sh server CA_DIR NAME [--ip ADDR]... [--dns NAME]... [--days N] [--out DIR]
#       the daemon's certificate: DIR/NAME.crt and DIR/NAME.key (tls_cert, tls_key)
#   scripts/issue-tool-cert.sh tool   CA_DIR TOOL [--days N] [--out DIR] [--install ACCOUNT]
#       a tool's certificate: DIR/TOOL.crt and DIR/TOOL.key; with --install ACCOUNT they go to
#       ~ACCOUNT/.toolskube/client.crt and client.key, owned by ACCOUNT, mode 0600, where the
#       CLI finds them
#   scripts/issue-tool-cert.sh revoke CA_DIR CERT_FILE
#       adds a certificate to CA_DIR/crl.pem (tls_crl); restart tjfd to take it up
#
# DIR defaults to the current directory; --days to 365 (CA: 3650). Needs openssl.
set -euo pipefail

die() {
  echo "issue-tool-cert: $*" >&2
  exit 2
}
usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

[[ $# -ge 2 ]] || usage
command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"
what="$1"
ca_dir="$2"
shift 2

days=""
out="."
install_account=""
san=()
name=""
if [[ "$what" == "server" || "$what" == "tool" || "$what" == "revoke" ]]; then
  [[ $# -ge 1 ]] || usage
  name="$1"
  shift
fi
while [[ $# -gt 0 ]]; do
  case "$1" in
    --days) days="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --ip) san+=("IP:$2"); shift 2 ;;
    --dns) san+=("DNS:$2"); shift 2 ;;
    --install) install_account="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown option '$1'" ;;
  esac
done

ca_crt="$ca_dir/ca.crt"
ca_key="$ca_dir/ca.key"
need_ca() {
  [[ -r "$ca_crt" && -r "$ca_key" ]] || die "no CA in '$ca_dir' (create one: $0 ca $ca_dir)"
}

# Signs a new key's request with the CA. $1: base path (without .crt/.key), $2: subject,
# $3: extensions (an openssl config section body).
sign() {
  local base="$1" subject="$2" extensions="$3"
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
     -out "$base.key" 2>/dev/null)
  openssl req -new -key "$base.key" -subj "$subject" -out "$tmp/req.csr"
  printf '[ext]\n%s\n' "$extensions" >"$tmp/ext.cnf"
  # A random 128-bit serial: certificates issued from different machines never collide.
  openssl x509 -req -in "$tmp/req.csr" -CA "$ca_crt" -CAkey "$ca_key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "${days:-365}" -sha256 \
    -extfile "$tmp/ext.cnf" -extensions ext -out "$base.crt" 2>/dev/null
  chmod 0644 "$base.crt"
}

case "$what" in
  ca)
    mkdir -p "$ca_dir"
    [[ -e "$ca_key" ]] && die "'$ca_key' exists already; not overwriting the CA"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
       -out "$ca_key" 2>/dev/null)
    openssl req -new -x509 -key "$ca_key" -subj "/O=toolforge/CN=tjf operator CA" \
      -days "${days:-3650}" -sha256 -out "$ca_crt" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign"
    echo "CA: $ca_crt (key $ca_key: keep it secret; tjfd needs only ca.crt, as tls_client_ca)"
    ;;
  server)
    need_ca
    [[ ${#san[@]} -gt 0 ]] || san=("DNS:$name")
    mkdir -p "$out"
    sign "$out/$name" "/O=toolforge/CN=$name" \
      "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$(IFS=,; echo "${san[*]}")"
    echo "server certificate: $out/$name.crt (tls_cert), key: $out/$name.key (tls_key)"
    ;;
  tool)
    need_ca
    [[ "$name" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || die "'$name' is not a valid tool name"
    mkdir -p "$out"
    sign "$out/$name" "/O=toolforge/CN=$name" \
      "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
    if [[ -n "$install_account" ]]; then
      home="$(getent passwd "$install_account" | cut -d: -f6)"
      [[ -n "$home" ]] || die "no account '$install_account'"
      group="$(id -gn "$install_account")"
      install -d -o "$install_account" -g "$group" -m 0700 "$home/.toolskube"
      install -o "$install_account" -g "$group" -m 0600 "$out/$name.crt" "$home/.toolskube/client.crt"
      install -o "$install_account" -g "$group" -m 0600 "$out/$name.key" "$home/.toolskube/client.key"
      rm -f "$out/$name.key"
      echo "installed for $install_account: $home/.toolskube/client.crt and client.key"
    else
      echo "certificate for tool '$name': $out/$name.crt, key: $out/$name.key"
    fi
    ;;
  revoke)
    need_ca
    [[ -r "$name" ]] || die "cannot read the certificate '$name'"
    # A minimal `openssl ca` database beside the CA, kept across revocations.
    db="$ca_dir/ca-db"
    mkdir -p "$db"
    touch "$db/index.txt"
    [[ -e "$db/crlnumber" ]] || echo 1000 >"$db/crlnumber"
    cat >"$db/ca.cnf" <<EOF
[ca]
default_ca = tjf
[tjf]
database = $db/index.txt
crlnumber = $db/crlnumber
certificate = $ca_crt
private_key = $ca_key
default_md = sha256
default_crl_days = ${days:-30}
EOF
    openssl ca -config "$db/ca.cnf" -revoke "$name" 2>/dev/null
    openssl ca -config "$db/ca.cnf" -gencrl -out "$ca_dir/crl.pem" 2>/dev/null
    echo "revoked; the revocation list is $ca_dir/crl.pem (tls_crl)"
    ;;
  *)
    usage
    ;;
esac
