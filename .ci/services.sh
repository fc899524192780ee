#!/usr/bin/env bash
# (Re)start the local servers the tests need, idempotently, and wait until each answers.
# Commands are the machine's own (see the env skill, machines/node-svc.md).
set -uo pipefail

wait_for() { # name, command
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then echo "$name: up"; return 0; fi
    sleep 1
  done
  echo "$name: did not answer in 60 s" >&2; return 1
}
port_open() { (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
wait_for postgresql psql -h 127.0.0.1 -U postgres -d test -c 'select 1' || exit 1

if ! port_open 5672; then rabbitmq-server -detached || true; fi
wait_for rabbitmq port_open 5672 || exit 1
# The AMQP port opens before the broker accepts logins; wait for the node to be fully booted.
wait_for rabbitmq-app rabbitmqctl await_startup || exit 1

if ! port_open 4222; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
fi
wait_for nats port_open 4222 || exit 1

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
wait_for redis redis-cli -h 127.0.0.1 ping || exit 1
