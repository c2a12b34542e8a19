import { expect } from 'chai';
import { Heartbeat, type HeartbeatMember } from '../lib/server/heartbeat.js';
import { deferred, until } from './support/waiting.js';

/** A connection as the heartbeat sees it: it answers each ping at once, or never. */
class Member implements HeartbeatMember {
  pingRound = 0;
  readonly rounds: number[] = [];
  readonly dropped = deferred();
  readonly #members: Set<Member>;
  readonly #answers: boolean;

  constructor(members: Set<Member>, answers: boolean) {
    this.#members = members;
    this.#answers = answers;
    members.add(this);
  }

  ping(round: number): void {
    this.pingRound = round;
    this.rounds.push(round);
    if (this.#answers) setImmediate(() => (this.pingRound = 0));
  }

  terminate(): void {
    this.#members.delete(this);
    this.dropped.resolve();
  }
}

describe('the heartbeat', () => {
  let heartbeat: Heartbeat | undefined;
  afterEach(() => heartbeat?.stop());

  it('drops a member `timeout` after the round it went silent in, not one pinged in a later round', async () => {
    const members = new Set<Member>();
    // A timeout longer than the interval: a later round pings before the first round's sweep.
    heartbeat = new Heartbeat(members, 30, 150);
    const answering = new Member(members, true);
    const silent = new Member(members, false);
    heartbeat.wake();
    await new Promise((resolve) => setTimeout(resolve, 45));
    const late = new Member(members, false);
    const lateDropped = late.dropped.promise.then(() => 'late');

    expect(await Promise.race([silent.dropped.promise.then(() => 'silent'), lateDropped])).to.equal(
      'silent',
    );
    expect(members.has(late), 'pinged in a later round: still watched').to.equal(true);
    const [lateRound] = late.rounds;
    expect(lateRound).to.be.above(silent.rounds[0] as number);
    await lateDropped;
    expect(members).to.deep.equal(new Set([answering]));
    // Pinged with the silent one in the first round and with the late one in a later one.
    expect(answering.rounds.length, 'rounds the answering member was pinged in').to.be.at.least(2);
  });

  it('hands its members small integers: a fraction would change every connection’s hidden class', async () => {
    // WsTransport keeps the round in a field that starts at 0 (a small integer to V8). The first
    // non-integer stored there (a time from performance.now(), as it once was) changes the shape
    // of every transport and deoptimises the code of each connection's message path.
    const members = new Set<Member>();
    heartbeat = new Heartbeat(members, 5, 1000);
    const member = new Member(members, true);
    heartbeat.wake();
    await until(() => member.rounds.length >= 3);
    for (const round of member.rounds) {
      expect(Number.isInteger(round) && round > 0 && round < 2 ** 30, String(round)).to.equal(true);
    }
  });
});
