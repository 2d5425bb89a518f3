// The --net and --tunnet values, as the command line hands them over: QEMU's hostfwd
// convention, and an error that says what to write for everything else.

import { parseUserNet } from './usernet';
import { checkTunnet } from './tunnet';

describe('--net=user', () => {
  it('takes hostfwd rules with and without an address', () => {
    expect(parseUserNet('user')).toEqual({ forwards: [] });
    expect(parseUserNet('user,hostfwd=tcp::8080-:80,hostfwd=tcp:127.0.0.2:2222-10.0.2.15:22')).toEqual({
      forwards: [
        { hostAddr: '127.0.0.1', hostPort: 8080, guestPort: 80 },
        { hostAddr: '127.0.0.2', hostPort: 2222, guestPort: 22 },
      ],
    });
  });

  it.each([
    ['tap', /the only network type is 'user'/],
    ['user,restrict=on', /unknown setting 'restrict'/],
    ['user,hostfwd=udp::53-:53', /is not tcp:\[ADDR\]:HOSTPORT-:GUESTPORT/],
    ['user,hostfwd=tcp::8080-:0', /ports go from 1 to 65535/],
    ['user,hostfwd=tcp::70000-:80', /ports go from 1 to 65535/],
  ])('refuses %s', (value, message) => {
    expect(() => parseUserNet(value)).toThrow(message);
  });
});

describe('--tunnet', () => {
  it('takes an IPv4 address or bridge:NAME, and says what it wants otherwise', () => {
    expect(checkTunnet('192.168.19.1')).toBeNull();
    expect(checkTunnet('bridge:br0')).toBeNull();
    expect(checkTunnet('192.168.19.300')).toMatch(/give the host side's IPv4 address/);
    expect(checkTunnet('bridge:')).toMatch(/or bridge:NAME/);
  });
});
