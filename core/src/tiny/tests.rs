#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

extern crate std;
use std::vec::Vec;

use super::*;
use crate::wire::ack::{AckRepr, Sack};
use crate::wire::control::{ErrRepr, HeartbeatRepr, ResetRepr};
use crate::wire::data::{DataRepr, Fragment};
use crate::wire::handshake::{HandshakeAckRepr, SynAckRepr, SynRepr, FLAG_COALESCE, FLAG_CRC, SYN_ACK_FIXED_LEN};
use crate::wire::pseudo::pseudo_sum;
use crate::wire::{Codec, PacketRepr};

type Client<'w> = TinyClient<'w, 4, 128>;

const SERVER_ID: u32 = 0x5e5e_0001;
const SERVER_ISN: u32 = 0xffff_fffe; // the server's sequence numbers wrap at once

/// A scripted server: it answers the SYN and writes the packets a test needs.
struct Server {
    agreement: Agreement,
}

impl Server {
    fn conn_id(&self) -> u32 {
        self.agreement.client_id ^ self.agreement.server_id
    }

    fn bound(&self) -> Codec {
        Codec::new().with_max_payload(self.agreement.params.max_payload).with_pseudo_header(self.conn_id())
    }

    /// A bound packet of the connection.
    fn packet(&self, seq: u32, ptype: PacketType, payload: &[u8]) -> Vec<u8> {
        let mut buf = [0u8; 512];
        let n = PacketRepr::new(Seq(seq), ptype, payload).emit(&mut buf, &self.bound()).unwrap();
        buf[..n].to_vec()
    }

    /// The server's data packet number `index` (from its ISN).
    fn data(&self, index: u32, message: &[u8]) -> Vec<u8> {
        self.packet(SERVER_ISN.wrapping_add(index), PacketType(100), message)
    }

    /// An ACK of the client's packets up to `cumulative` with `window` free.
    fn ack(&self, cumulative: Seq, window: u16) -> Vec<u8> {
        let mut payload = [0u8; 64];
        let n = AckRepr { cumulative, window: Some(window), sack: Sack::new() }.emit(&mut payload).unwrap();
        self.packet(SERVER_ISN, PacketType::ACK, &payload[..n])
    }
}

fn unbound(ptype: PacketType, payload: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 512];
    let n = PacketRepr::new(Seq(0), ptype, payload).emit(&mut buf, &Codec::new()).unwrap();
    buf[..n].to_vec()
}

/// Everything the client sends at `now`, parsed with `codec`.
fn drain(client: &mut Client<'_>, now: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; Client::MAX_DATAGRAM_LEN];
    while let Some(n) = client.poll_transmit(now, &mut buf).unwrap() {
        out.push(buf[..n].to_vec());
    }
    out
}

fn decode<'a>(datagram: &'a [u8], codec: &Codec) -> PacketRepr<'a> {
    PacketRepr::decode(datagram, codec).unwrap()
}

/// The SYN_ACK a full server would send for `syn` with `change` applied to its agreement.
fn syn_ack_for(syn: &[u8], change: impl Fn(&mut Agreement)) -> (Server, Vec<u8>) {
    let syn = SynRepr::parse(decode(syn, &Codec::new().with_max_payload(104)).payload).unwrap();
    let mut agreement = Agreement {
        version: 1,
        flags: 0,
        client_id: syn.client_id,
        client_isn: syn.isn,
        server_id: SERVER_ID,
        server_isn: SERVER_ISN,
        params: syn.params,
        cookie_time: 1234,
        cookie: 0x0102_0304_0506_0708,
    };
    change(&mut agreement);
    let mut payload = [0u8; 128];
    let n = SynAckRepr { agreement, extension: &[] }.emit(&mut payload).unwrap();
    (Server { agreement }, unbound(PacketType::SYN_ACK, &payload[..n]))
}

/// A client connected to a scripted server at time 0: the SYN, the SYN_ACK,
/// the HANDSHAKE_ACK and the server's first bound packet (an ACK).
fn connected(window: &mut TinyWindow<4, 128>) -> (Client<'_>, Server) {
    let mut client = TinyClient::connect(TinyConfig::new(), window, 0, 0x1234_5678_9abc_def0);
    let syn = drain(&mut client, 0).remove(0);
    let (server, syn_ack) = syn_ack_for(&syn, |_| {});
    client.handle_datagram(0, &syn_ack);
    assert_eq!(drain(&mut client, 0).len(), 1, "the HANDSHAKE_ACK");
    client.handle_datagram(0, &server.ack(Seq(server.agreement.client_isn).retreat(1), 4));
    assert_eq!(client.state(), State::Established);
    assert_eq!(client.poll_event(), Some(Event::Connected));
    (client, server)
}

#[test]
fn the_syn_proposes_window_and_payload_offers_nothing_optional_and_is_padded() {
    let mut window = TinyWindow::<4, 128>::new();
    let mut client = TinyClient::connect(TinyConfig::new(), &mut window, 0, 1);
    let sent = drain(&mut client, 0);
    assert_eq!(sent.len(), 1);
    // as large as the SYN_ACK the server may send (no amplification, 7.3)
    assert_eq!(sent[0].len(), HEADER_LEN + SYN_ACK_FIXED_LEN);
    let packet = decode(&sent[0], &Codec::new().with_max_payload(104));
    assert_eq!((packet.seq, packet.ptype), (Seq(0), PacketType::SYN));
    let syn = SynRepr::parse(packet.payload).unwrap();
    assert_eq!((syn.version, syn.flags), (1, 0), "neither CRC-32C nor coalescing offered");
    assert_eq!(syn.params, Params { max_payload: 128, window: 4, heartbeat_ms: 1_000, idle_timeout_ms: 10_000 });
    assert_eq!(client.send(PacketType(100), b"early"), Err(SendError::NotConnected));
}

#[test]
fn the_syn_is_resent_with_backoff_until_the_connect_timeout() {
    let mut window = TinyWindow::<4, 128>::new();
    let mut client = TinyClient::connect(TinyConfig::new(), &mut window, 0, 1);
    let mut sent_at = Vec::new();
    let mut now = 0;
    while let Some(at) = client.poll_timeout().filter(|&at| at > now || sent_at.is_empty()) {
        now = at;
        client.handle_timeout(now);
        if !drain(&mut client, now).is_empty() {
            sent_at.push(now);
        }
    }
    // the first SYN at 0, then after 200, 400, 800 ... ms (capped at max_rto)
    assert_eq!(sent_at[..5], [0, 200, 600, 1_400, 3_000]);
    assert_eq!(now, 10_000);
    assert_eq!(client.poll_event(), Some(Event::Failed(FailReason::ConnectTimeout)));
}

#[test]
fn an_agreement_beyond_the_proposal_is_a_protocol_violation() {
    let changes: [fn(&mut Agreement); 5] = [
        |a| a.flags = FLAG_COALESCE,
        |a| a.flags = FLAG_CRC,
        |a| a.params.window = 5,
        |a| a.params.max_payload = 129,
        |a| a.version = 2,
    ];
    for change in changes {
        let mut window = TinyWindow::<4, 128>::new();
        let mut client = TinyClient::connect(TinyConfig::new(), &mut window, 0, 1);
        let syn = drain(&mut client, 0).remove(0);
        let (_, syn_ack) = syn_ack_for(&syn, change);
        client.handle_datagram(0, &syn_ack);
        assert_eq!(client.failure(), Some(FailReason::ProtocolViolation));
    }
}

#[test]
fn a_syn_ack_for_another_client_is_ignored() {
    let mut window = TinyWindow::<4, 128>::new();
    let mut client = TinyClient::connect(TinyConfig::new(), &mut window, 0, 1);
    let syn = drain(&mut client, 0).remove(0);
    let (_, syn_ack) = syn_ack_for(&syn, |a| a.client_id ^= 1);
    client.handle_datagram(0, &syn_ack);
    assert_eq!(client.state(), State::SynSent);
    assert!(drain(&mut client, 0).is_empty());
}

#[test]
fn the_handshake_ack_echoes_the_agreement_and_a_bound_packet_connects() {
    let mut window = TinyWindow::<4, 128>::new();
    let mut client = TinyClient::connect(TinyConfig::new(), &mut window, 0, 1);
    let syn = drain(&mut client, 0).remove(0);
    let (server, syn_ack) = syn_ack_for(&syn, |a| a.params.window = 2);
    client.handle_datagram(5, &syn_ack);
    assert_eq!(client.state(), State::Confirming);
    let sent = drain(&mut client, 5);
    let packet = decode(&sent[0], &Codec::new().with_max_payload(104));
    assert_eq!(packet.ptype, PacketType::HANDSHAKE_ACK);
    assert_eq!(HandshakeAckRepr::parse(packet.payload).unwrap().agreement, server.agreement);
    // a repeated SYN_ACK (our HANDSHAKE_ACK was lost) gets it again
    client.handle_datagram(6, &syn_ack);
    assert_eq!(drain(&mut client, 6).len(), 1);
    // the server's first bound packet completes the handshake
    client.handle_datagram(7, &server.ack(Seq(server.agreement.client_isn).retreat(1), 2));
    assert_eq!(client.state(), State::Established);
    assert_eq!(client.connection_id(), server.conn_id());
    assert_eq!(client.poll_event(), Some(Event::Connected));
}

#[test]
fn an_err_msg_during_the_handshake_is_a_refusal() {
    let mut window = TinyWindow::<4, 128>::new();
    let mut client = TinyClient::connect(TinyConfig::new(), &mut window, 0, 1);
    drain(&mut client, 0);
    let mut payload = [0u8; 32];
    let n = ErrRepr { code: ErrorCode::ServerFull, reason: b"server full" }.emit(&mut payload).unwrap();
    client.handle_datagram(1, &unbound(PacketType::ERR_MSG, &payload[..n]));
    assert_eq!(client.poll_event(), Some(Event::Failed(FailReason::Refused { code: ErrorCode::ServerFull })));
    assert_eq!(client.poll_event(), None);
}

#[test]
fn packets_out_of_order_are_held_acknowledged_at_once_and_delivered_in_order() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    let codec = server.bound();
    // 1 and 2 arrive before 0 (their numbers wrap past 2^32 - 1)
    client.handle_datagram(10, &server.data(2, b"two"));
    client.handle_datagram(10, &server.data(1, b"one"));
    let mut buf = [0u8; 128];
    assert_eq!(client.recv(&mut buf), Ok(None), "nothing in order yet");
    let acks = drain(&mut client, 10);
    let ack = AckRepr::parse(decode(&acks[0], &codec).payload).unwrap();
    assert_eq!(ack.cumulative, Seq(SERVER_ISN).retreat(1), "cumulative only");
    assert_eq!(ack.window, Some(4));
    assert!(ack.sack.is_empty(), "sack_len 0");
    client.handle_datagram(11, &server.data(0, b"zero"));
    let acks = drain(&mut client, 11);
    let ack = AckRepr::parse(decode(&acks[0], &codec).payload).unwrap();
    assert_eq!(ack.cumulative, Seq(SERVER_ISN).advance(2), "the gap filled: acknowledged at once");
    assert_eq!(ack.window, Some(1), "three in order and unread");
    for expected in [&b"zero"[..], b"one", b"two"] {
        let r = client.recv(&mut buf).unwrap().unwrap();
        assert_eq!(&buf[..r.len], expected);
    }
    // a duplicate is answered at once with the cumulative acknowledgement
    client.handle_datagram(12, &server.data(1, b"one"));
    let acks = drain(&mut client, 12);
    assert_eq!(AckRepr::parse(decode(&acks[0], &codec).payload).unwrap().cumulative, Seq(SERVER_ISN).advance(2));
}

#[test]
fn one_packet_in_order_is_acknowledged_after_the_ack_delay_two_at_once() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    client.handle_datagram(100, &server.data(0, b"a"));
    assert!(drain(&mut client, 100).is_empty());
    assert_eq!(client.poll_timeout(), Some(105));
    client.handle_timeout(105);
    assert_eq!(drain(&mut client, 105).len(), 1);
    client.handle_datagram(200, &server.data(1, b"b"));
    client.handle_datagram(200, &server.data(2, b"c"));
    assert_eq!(drain(&mut client, 200).len(), 1, "every second packet at once");
}

#[test]
fn a_fragmented_message_is_acknowledged_dropped_and_reported() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    for index in 0..2u16 {
        let mut payload = [0u8; 16];
        payload[0] = crate::wire::data::FLAG_FRAGMENT;
        payload[1] = 100;
        Fragment { index, count: 2 }.emit(&mut payload[2..]).unwrap();
        assert!(DataRepr::parse(&payload[..8]).is_ok());
        client.handle_datagram(
            10,
            &server.packet(SERVER_ISN.wrapping_add(u32::from(index)), PacketType::DATA, &payload[..8]),
        );
    }
    client.handle_datagram(10, &server.data(2, b"whole"));
    assert_eq!(client.poll_event(), Some(Event::MessageDropped { fragments: 2 }));
    let mut buf = [0u8; 128];
    let r = client.recv(&mut buf).unwrap().unwrap();
    assert_eq!(&buf[..r.len], b"whole");
}

#[test]
fn an_err_msg_or_reset_outside_the_receive_window_is_ignored() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    let reset = ResetRepr { code: ErrorCode::Aborted, token: 0 }.to_bytes();
    // a blind sender that guessed the connection id but not a sequence number
    client.handle_datagram(10, &server.packet(SERVER_ISN.wrapping_add(5), PacketType::RESET, &reset));
    client.handle_datagram(10, &server.packet(SERVER_ISN.wrapping_sub(1), PacketType::ERR_MSG, &[7]));
    assert_eq!(client.state(), State::Established);
    // [next expected, next expected + window]
    client.handle_datagram(10, &server.packet(SERVER_ISN.wrapping_add(4), PacketType::RESET, &reset));
    assert_eq!(client.failure(), Some(FailReason::Reset { code: ErrorCode::Aborted }));
}

#[test]
fn an_unbound_reset_needs_the_token_and_a_sequence_number_still_awaited() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    client.send(PacketType(100), b"x").unwrap();
    drain(&mut client, 1);
    let isn = server.agreement.client_isn;
    let token = pseudo_sum(server.conn_id());
    let reset = |token: u16, seq: u32| {
        let mut buf = [0u8; 32];
        let payload = ResetRepr { code: ErrorCode::UnknownConnection, token }.to_bytes();
        let n = PacketRepr::new(Seq(seq), PacketType::RESET, &payload).emit(&mut buf, &Codec::new()).unwrap();
        buf[..n].to_vec()
    };
    client.handle_datagram(2, &reset(token ^ 0x0100, isn));
    client.handle_datagram(2, &reset(token, isn.wrapping_add(2)));
    assert_eq!(client.state(), State::Established);
    client.handle_datagram(2, &reset(token, isn));
    assert_eq!(client.failure(), Some(FailReason::Reset { code: ErrorCode::UnknownConnection }));
}

#[test]
fn a_lost_packet_is_resent_by_its_deadline_with_backoff_until_the_peer_is_dead() {
    let mut window = TinyWindow::<4, 128>::new();
    let config = TinyConfig { idle_timeout_ms: 0, heartbeat_ms: 0, ..TinyConfig::new() };
    let mut client = TinyClient::connect(config, &mut window, 0, 3);
    let syn = drain(&mut client, 0).remove(0);
    let (server, syn_ack) = syn_ack_for(&syn, |a| {
        a.params.heartbeat_ms = 0;
        a.params.idle_timeout_ms = 0;
    });
    client.handle_datagram(0, &syn_ack);
    drain(&mut client, 0);
    client.handle_datagram(0, &server.ack(Seq(server.agreement.client_isn).retreat(1), 4));
    client.send(PacketType(100), b"lost").unwrap();
    assert_eq!(drain(&mut client, 0).len(), 1);
    let mut resent_at = Vec::new();
    while let Some(at) = client.poll_timeout().filter(|_| resent_at.len() <= 40) {
        client.handle_timeout(at);
        if !drain(&mut client, at).is_empty() {
            resent_at.push(at);
        }
    }
    // each deadline: the RTO (200 ms, no sample yet) x1.5 per resend so far, plus the peer's ack delay of 5 ms
    assert_eq!(resent_at[..4], [205, 510, 965, 1_645]);
    assert_eq!(resent_at.len(), 20, "max_retries resends");
    let seq = Seq(server.agreement.client_isn);
    assert_eq!(client.failure(), Some(FailReason::DeadPeer { seq }));
}

#[test]
fn an_acknowledgement_frees_the_window_and_reports_writable() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    for i in 0..4u8 {
        client.send(PacketType(100), &[i]).unwrap();
    }
    assert_eq!(client.send(PacketType(100), b"full"), Err(SendError::WouldBlock));
    assert_eq!(drain(&mut client, 1).len(), 4);
    client.handle_datagram(30, &server.ack(Seq(server.agreement.client_isn).advance(1), 4));
    assert_eq!(client.poll_event(), Some(Event::Writable));
    client.send(PacketType(100), b"next").unwrap();
    assert_eq!(client.send(PacketType(24), b"x"), Err(SendError::ReservedType));
    assert_eq!(client.send(PacketType(100), &[0; 129]), Err(SendError::MessageTooLarge { max: 128 }));
}

#[test]
fn a_ping_is_answered_and_silence_sends_one() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    let codec = server.bound();
    client.handle_datagram(
        10,
        &server.packet(SERVER_ISN, PacketType::HEARTBEAT, &HeartbeatRepr { pong: false, stamp: 77 }.to_bytes()),
    );
    let sent = drain(&mut client, 10);
    assert_eq!(HeartbeatRepr::parse(decode(&sent[0], &codec).payload), Ok(HeartbeatRepr { pong: true, stamp: 77 }));
    // heartbeat_ms (1 s) after the last packet either way
    assert_eq!(client.poll_timeout(), Some(1_010));
    client.handle_timeout(1_010);
    let sent = drain(&mut client, 1_010);
    assert_eq!(HeartbeatRepr::parse(decode(&sent[0], &codec).payload), Ok(HeartbeatRepr { pong: false, stamp: 1_010 }));
}

#[test]
fn silence_for_the_idle_timeout_fails_and_tells_the_server() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    let mut now = 0;
    while client.state() == State::Established && now < 20_000 {
        now = client.poll_timeout().unwrap().max(now + 1);
        client.handle_timeout(now);
        drain(&mut client, now);
    }
    assert_eq!(now, 10_000);
    assert_eq!(client.failure(), Some(FailReason::IdleTimeout));
    let _ = server;
}

#[test]
fn the_idle_err_msg_carries_code_6() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    for now in [1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000] {
        client.handle_timeout(now);
        drain(&mut client, now);
    }
    client.handle_timeout(10_000);
    let sent = drain(&mut client, 10_000);
    let packet = decode(&sent[0], &server.bound());
    assert_eq!(packet.ptype, PacketType::ERR_MSG);
    assert_eq!(ErrRepr::parse(packet.payload).unwrap().code, ErrorCode::IdleTimeout);
}

#[test]
fn a_close_sends_a_fin_and_ends_closed_when_both_fins_are_acknowledged() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    let codec = server.bound();
    let isn = Seq(server.agreement.client_isn);
    client.close(1);
    assert_eq!(client.state(), State::Closing);
    assert_eq!(client.send(PacketType(100), b"late"), Err(SendError::Closing));
    let sent = drain(&mut client, 1);
    let fin = decode(&sent[0], &codec);
    assert_eq!((fin.seq, fin.ptype, fin.payload.len()), (isn, PacketType::FIN, 0));
    client.handle_datagram(2, &server.ack(isn, 4));
    client.handle_datagram(3, &server.packet(SERVER_ISN, PacketType::FIN, &[]));
    assert_eq!(client.state(), State::Linger);
    assert_eq!(client.poll_event(), Some(Event::Closed));
    let acks = drain(&mut client, 3);
    assert_eq!(AckRepr::parse(decode(&acks[0], &codec).payload).unwrap().cumulative, Seq(SERVER_ISN));
    // the linger ends quietly
    client.handle_timeout(client.poll_timeout().unwrap());
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.poll_event(), None);
}

#[test]
fn an_abort_sends_a_bound_reset_and_repeats_it_while_lingering() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    client.abort(5, ErrorCode::Aborted);
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.poll_event(), Some(Event::Closed));
    let sent = drain(&mut client, 5);
    let reset = decode(&sent[0], &server.bound());
    assert_eq!(ResetRepr::parse(reset.payload).unwrap().code, ErrorCode::Aborted);
    client.handle_datagram(6, &server.data(0, b"still"));
    assert_eq!(drain(&mut client, 6).len(), 1, "the RESET again");
    client.handle_datagram(3_000, &server.data(0, b"later"));
    assert!(drain(&mut client, 3_000).is_empty(), "after the linger");
}

#[test]
fn new_packets_stay_within_the_peers_advertised_window() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    let isn = Seq(server.agreement.client_isn);
    client.handle_datagram(1, &server.ack(isn.retreat(1), 1));
    for i in 0..3u8 {
        client.send(PacketType(100), &[i]).unwrap();
    }
    assert_eq!(drain(&mut client, 2).len(), 1, "a window of one packet");
    client.handle_datagram(3, &server.ack(isn, 2));
    assert_eq!(drain(&mut client, 4).len(), 2, "two more");
}

#[test]
fn a_packet_beyond_the_receive_window_is_dropped_not_held() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    client.handle_datagram(1, &server.data(4, b"beyond"));
    for (i, m) in [&b"zero"[..], b"one", b"two", b"three"].iter().enumerate() {
        client.handle_datagram(2, &server.data(i as u32, m));
    }
    let mut buf = [0u8; 128];
    let mut read = Vec::new();
    while let Some(r) = client.recv(&mut buf).unwrap() {
        read.push(buf[..r.len].to_vec());
    }
    assert_eq!(read, [&b"zero"[..], b"one", b"two", b"three"]);
}

#[test]
fn after_a_timeout_no_other_deadline_falls_before_one_rto() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, _server) = connected(&mut window);
    client.send(PacketType(100), b"a").unwrap();
    drain(&mut client, 0);
    client.send(PacketType(100), b"b").unwrap();
    drain(&mut client, 100);
    // a's deadline: 0 + 200 + 5; b's would be 305, but the timeout at 205 holds it to 205 + 200 + 5
    assert_eq!(client.poll_timeout(), Some(205));
    client.handle_timeout(205);
    assert_eq!(drain(&mut client, 205).len(), 1, "only the oldest");
    assert_eq!(client.poll_timeout(), Some(410));
}

#[test]
fn a_late_fin_while_lingering_makes_the_linger_last_longer() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, server) = connected(&mut window);
    let isn = Seq(server.agreement.client_isn);
    client.close(1);
    drain(&mut client, 1);
    client.handle_datagram(2, &server.ack(isn, 4));
    client.handle_datagram(3, &server.packet(SERVER_ISN, PacketType::FIN, &[]));
    assert_eq!(client.poll_timeout(), Some(2_003), "linger_ms after the close");
    // the server did not get our ACK and resends its FIN at 1,900
    client.handle_datagram(1_900, &server.packet(SERVER_ISN, PacketType::FIN, &[]));
    assert_eq!(drain(&mut client, 1_900).len(), 1, "acknowledged again");
    // now + min(max(3 * gap, linger_ms), 2 * max_rto), gap = 1,897 ms since the linger began
    assert_eq!(client.poll_timeout(), Some(1_900 + 3 * 1_897));
}

#[test]
fn a_window_lent_again_after_an_aborted_connection_holds_nothing_of_it() {
    let mut window = TinyWindow::<4, 128>::new();
    {
        let (mut client, server) = connected(&mut window);
        // the second message arrives, the first is lost: the second is held out of order
        client.handle_datagram(0, &server.data(1, b"old second"));
        client.abort(0, ErrorCode::ProtocolViolation);
    }
    // the device connects again over the same window
    let (mut client, server) = connected(&mut window);
    client.handle_datagram(10, &server.data(1, b"new second"));
    client.handle_datagram(10, &server.data(0, b"new first"));
    let mut buf = [0u8; 128];
    let mut read = Vec::new();
    while let Some(r) = client.recv(&mut buf).unwrap() {
        read.push(buf[..r.len].to_vec());
    }
    assert_eq!(read, [b"new first".to_vec(), b"new second".to_vec()]);
}

#[test]
fn a_closed_client_gives_its_window_back_for_the_next_connection() {
    let mut window = TinyWindow::<4, 128>::new();
    let (mut client, _server) = connected(&mut window);
    client.abort(0, ErrorCode::ProtocolViolation);
    let window = client.into_window();
    let mut again = TinyClient::<4, 128>::connect(TinyConfig::new(), window, 5, 2);
    assert_eq!(again.state(), State::SynSent);
    assert_eq!(drain(&mut again, 5).len(), 1, "the SYN");
}
